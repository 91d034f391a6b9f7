using FlatImage.Native;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// The casefold view of one directory served at one mount point: the backing directory's fd, the
/// <see cref="CasefoldFileSystem"/>, the <see cref="FuseMount"/> (read-write) and the
/// <see cref="FuseSession"/>, started in that order and torn down in the reverse one.
/// CasefoldMountActor owns one.
/// </summary>
public sealed class CasefoldMount : IServedMount, IDisposable
{
    private readonly object _gate = new();
    private bool _disposed; // protected by _gate

    private CasefoldMount(CasefoldMountOptions options, CasefoldFileSystem fs, FuseMount mount, FuseSession session)
    {
        Options = options;
        FileSystem = fs;
        Mount = mount;
        Session = session;
    }

    public CasefoldMountOptions Options { get; }
    public CasefoldFileSystem FileSystem { get; }
    public FuseMount Mount { get; }
    public FuseSession Session { get; }
    public string Mountpoint => Mount.Mountpoint;

    /// <summary>
    /// Opens the backing directory, mounts (mount(2) as root, fusermount3 otherwise) and serves it;
    /// returns once FUSE_INIT was answered. Throws <see cref="ErrnoException"/>, IOException or
    /// TimeoutException, leaving nothing mounted.
    /// </summary>
    public static unsafe CasefoldMount Start(CasefoldMountOptions options, Action<FuseWorkerFault>? onFault = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        RaiseOpenFileLimit();
        int raw;
        fixed (byte* p = System.Text.Encoding.UTF8.GetBytes(options.BackingDirectory + "\0"))
            raw = Fcntl.open(p, Fcntl.O_PATH | Fcntl.O_DIRECTORY | Fcntl.O_CLOEXEC, 0);
        if (raw < 0)
            throw new ErrnoException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), "open", options.BackingDirectory);
        var root = new SafeFd(raw);
        var fs = new CasefoldFileSystem(root, giveToCaller: Unistd.geteuid() == 0, options.Log ?? (_ => { }));
        FuseMount? mount = null;
        FuseSession? session = null;
        try
        {
            mount = FuseMount.Mount(new FuseMountOptions(options.Mountpoint)
            {
                FsName = options.FsName,
                Subtype = "flatimage-casefold",
                ReadOnly = false,
                MaxRead = (uint)options.MaxPages * 4096,
            });
            session = new FuseSession(mount.Device, fs, new FuseSessionOptions
            {
                Name = "fim-casefold",
                Workers = options.Workers,
                MaxPages = options.MaxPages,
                MaxReadahead = (uint)options.MaxPages * 4096,
                MaxWrite = (uint)options.MaxPages * 4096,
                EntryTimeout = options.CacheTimeout,
                AttrTimeout = options.CacheTimeout,
                NegativeTimeout = TimeSpan.Zero,
                FaultInjector = options.FaultInjector,
            });
            fs.Notifier = session;
            if (onFault is not null) session.WorkerFaulted += onFault;
            session.Start();
            if (!session.WaitForInit(options.InitTimeout))
                throw new TimeoutException($"fim: the kernel did not initialize the FUSE mount {mount.Mountpoint} within {options.InitTimeout.TotalSeconds} s");
            return new CasefoldMount(options, fs, mount, session);
        }
        catch
        {
            FuseTeardown.Stop(mount, session, _ => { });
            fs.Dispose();
            throw;
        }
    }

    /// <summary>Unmounts, stops the workers, closes the connection and every backing fd. Idempotent; never throws.</summary>
    public void Stop(Action<string> log)
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        FuseTeardown.Stop(Mount, Session, log);
        FileSystem.Dispose();
    }

    public void Dispose() => Stop(_ => { });

    /// <summary>
    /// Every directory the guest holds in the kernel's cache keeps one O_PATH fd here: lift the soft
    /// limit of open files to the hard one (1024 by default, far below a large Wine prefix).
    /// </summary>
    private static unsafe void RaiseOpenFileLimit()
    {
        Vfs.rlimit limit;
        if (Vfs.getrlimit(Vfs.RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
        limit.rlim_cur = limit.rlim_max;
        Vfs.setrlimit(Vfs.RLIMIT_NOFILE, &limit);
    }
}
