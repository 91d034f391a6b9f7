using FlatImage.Native.Fuse;

namespace FlatImage.Native.Tests.Fuse;

/// <summary>
/// Test helper: mount + session with the owner's teardown order (unmount, then stop the
/// session, then close the fd), as the future LayerMountActor will do it.
/// </summary>
public sealed class MountedFileSystem : IDisposable
{
    private readonly List<FuseWorkerFault> _faults = [];

    public MountedFileSystem(IFuseFileSystem fs, FuseMountOptions? mountOptions = null, FuseSessionOptions? sessionOptions = null)
    {
        Directory = mountOptions is null ? System.IO.Directory.CreateTempSubdirectory("fim-fuse-").FullName : mountOptions.Mountpoint;
        Mount = FuseMount.Mount(mountOptions ?? new FuseMountOptions(Directory) { FsName = "fimtest", Subtype = "fimtest" });
        try
        {
            Session = new FuseSession(Mount.Device, fs, sessionOptions ?? new FuseSessionOptions { Name = "fimtest" });
            Session.WorkerFaulted += f => { lock (_faults) _faults.Add(f); };
            Session.Start();
            if (!Session.WaitForInit(TimeSpan.FromSeconds(10)))
                throw new TimeoutException("FUSE_INIT was not answered");
            Mount.TrySetReadAhead(1024);
        }
        catch
        {
            Mount.Dispose();
            throw;
        }
    }

    public string Directory { get; }
    public FuseMount Mount { get; }
    public FuseSession Session { get; }

    public IReadOnlyList<FuseWorkerFault> Faults { get { lock (_faults) return _faults.ToArray(); } }

    public string PathOf(string relative) => Path.Combine(Directory, relative);

    public void Dispose()
    {
        Mount.Unmount();
        Session.Dispose();
        Mount.Dispose();
    }
}
