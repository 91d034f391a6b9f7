using FlatImage.Native;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// One layer served at one mount point: the <see cref="LayerReader"/>, the <see cref="FuseMount"/>
/// and the <see cref="FuseSession"/> that serves it, started in that order and torn down in the
/// reverse one (unmount, then stop the workers, then close the fd, then the layer). LayerMountActor
/// owns one; the CLI's foreground `fim-layer mount` goes through that actor too.
/// </summary>
public sealed class LayerMount : IDisposable
{
    private readonly object _gate = new();
    private bool _disposed; // protected by _gate

    private LayerMount(LayerMountOptions options, LayerReader reader, FuseMount mount, FuseSession session)
    {
        Options = options;
        Reader = reader;
        Mount = mount;
        Session = session;
    }

    public LayerMountOptions Options { get; }
    public LayerReader Reader { get; }
    public FuseMount Mount { get; }
    public FuseSession Session { get; }
    public string Mountpoint => Mount.Mountpoint;

    /// <summary>
    /// Opens the layer, mounts it (mount(2) as root, fusermount3 otherwise) and serves it; returns
    /// once the kernel's FUSE_INIT was answered, so the mount is usable. <paramref name="onFault"/>
    /// is subscribed to <see cref="FuseSession.WorkerFaulted"/> before the workers start.
    /// Throws <see cref="InvalidLayerException"/>, <see cref="ErrnoException"/>, IOException or
    /// TimeoutException, leaving nothing mounted.
    /// </summary>
    public static LayerMount Start(LayerMountOptions options, Action<FuseWorkerFault>? onFault = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var reader = LayerReader.Open(options.LayerPath, options.Offset, options.Length, options.Reader);
        FuseMount? mount = null;
        FuseSession? session = null;
        try
        {
            bool root = Unistd.geteuid() == 0;
            // An unprivileged run's sandbox maps only the caller's uid: present the files as the
            // caller's, or root-owned files would be `nobody` inside (design.md).
            var fsOptions = options.FileSystem
                ?? (root ? LayerFileSystemOptions.RealOwners : LayerFileSystemOptions.PresentOwner(Unistd.geteuid(), Unistd.getegid()));
            var fs = new LayerFileSystem(reader, fsOptions);
            mount = FuseMount.Mount(new FuseMountOptions(options.Mountpoint)
            {
                FsName = options.FsName,
                Subtype = "flatimage-layer",
                MaxRead = (uint)options.MaxPages * 4096,
            });
            session = new FuseSession(mount.Device, fs, new FuseSessionOptions
            {
                Name = "fim-layer",
                Workers = options.Workers,
                MaxPages = options.MaxPages,
                MaxReadahead = (uint)options.MaxPages * 4096,
                FaultInjector = options.FaultInjector,
            });
            if (onFault is not null) session.WorkerFaulted += onFault;
            session.Start();
            if (!session.WaitForInit(options.InitTimeout))
                throw new TimeoutException($"fim: the kernel did not initialize the FUSE mount {mount.Mountpoint} within {options.InitTimeout.TotalSeconds} s");
            // After INIT: its reply lowers the window to max_readahead (FuseMount.TrySetReadAhead).
            if (options.ReadAheadKilobytes > 0)
                mount.TrySetReadAhead(options.ReadAheadKilobytes);
            return new LayerMount(options, reader, mount, session);
        }
        catch
        {
            TearDown(mount, session, reader, _ => { });
            throw;
        }
    }

    /// <summary>
    /// Unmounts (lazily when busy or when the eager attempt fails), stops the workers, closes the
    /// connection and the layer. Idempotent. Failures are passed to <paramref name="log"/>, never thrown:
    /// the owner calls this from PostStop.
    /// </summary>
    public void Stop(Action<string> log)
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        TearDown(Mount, Session, Reader, log);
    }

    public void Dispose() => Stop(_ => { });

    private static void TearDown(FuseMount? mount, FuseSession? session, LayerReader reader, Action<string> log)
    {
        FuseTeardown.Stop(mount, session, log);
        reader.Dispose();
    }
}
