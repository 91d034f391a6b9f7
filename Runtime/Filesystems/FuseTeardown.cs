using FlatImage.Native;
using FlatImage.Native.Fuse;

namespace FlatImage.Runtime.Filesystems;

/// <summary>The one teardown order of an in-process FUSE mount: unmount (lazily, then abort, as last resorts), stop the workers, close the fd.</summary>
internal static class FuseTeardown
{
    /// <summary>Never throws: failures go to <paramref name="log"/> (owners call this from PostStop).</summary>
    public static void Stop(FuseMount? mount, FuseSession? session, Action<string> log)
    {
        if (mount is not null)
        {
            try
            {
                mount.Unmount();
            }
            catch (Exception e) when (e is ErrnoException or IOException or InvalidOperationException)
            {
                log($"unmount {mount.Mountpoint}: {e.Message}; detaching lazily");
                try
                {
                    mount.Unmount(lazy: true);
                }
                catch (Exception lazy) when (lazy is ErrnoException or IOException or InvalidOperationException)
                {
                    // Last resort: end the connection so nothing hangs on a server that is going away.
                    log($"lazy unmount {mount.Mountpoint}: {lazy.Message}; aborting the connection");
                    try { mount.TryAbort(); } catch (IOException abort) { log($"abort {mount.Mountpoint}: {abort.Message}"); }
                }
            }
        }
        session?.Dispose();
        if (mount is not null)
        {
            try
            {
                mount.Dispose();
            }
            catch (Exception e) when (e is ErrnoException or IOException or InvalidOperationException)
            {
                log($"close {mount.Mountpoint}: {e.Message}");
            }
        }
    }
}
