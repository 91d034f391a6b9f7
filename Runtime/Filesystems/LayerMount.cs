using FlatImage.Native;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// Layers served at one mount point: their <see cref="LayerReader"/>s, the <see cref="FuseMount"/>
/// and the <see cref="FuseSession"/> that serves them (merged, or one layer as stored), started in
/// that order and torn down in the reverse one (unmount, then stop the workers, then close the fd,
/// then the layers). LayerMountActor owns one; the CLI's foreground `fim-layer mount` goes through
/// that actor too.
/// </summary>
public sealed class LayerMount : IServedMount, IDisposable
{
    private readonly object _gate = new();
    private bool _disposed; // protected by _gate

    private readonly StartProfileRecorder? _recorder;

    private LayerMount(LayerMountOptions options, IReadOnlyList<LayerReader> readers, FuseMount mount, FuseSession session, StartProfileRecorder? recorder)
    {
        _recorder = recorder;
        Options = options;
        Readers = readers;
        Mount = mount;
        Session = session;
    }

    public LayerMountOptions Options { get; }

    /// <summary>The layers served, bottom first.</summary>
    public IReadOnlyList<LayerReader> Readers { get; }
    public FuseMount Mount { get; }
    public FuseSession Session { get; }
    public string Mountpoint => Mount.Mountpoint;

    /// <summary>
    /// Opens every layer, mounts (mount(2) as root, fusermount3 otherwise) and serves them; returns
    /// once the kernel's FUSE_INIT was answered, so the mount is usable. <paramref name="onFault"/>
    /// is subscribed to <see cref="FuseSession.WorkerFaulted"/> before the workers start.
    /// Every layer is validated before anything is mounted: a damaged one fails the whole mount
    /// with an <see cref="InvalidLayerException"/> that names it (its index in the stack, file and
    /// offset), never a view with that layer missing. Otherwise throws <see cref="ErrnoException"/>,
    /// IOException or TimeoutException, leaving nothing mounted.
    /// </summary>
    public static LayerMount Start(LayerMountOptions options, Action<FuseWorkerFault>? onFault = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Layers.Count == 0)
            throw new ArgumentException("nothing to mount: no layers", nameof(options));
        if (!options.Merged && options.Layers.Count != 1)
            throw new ArgumentException("an unmerged mount serves exactly one layer", nameof(options));
        var readers = OpenAll(options);
        FuseMount? mount = null;
        FuseSession? session = null;
        try
        {
            bool root = Unistd.geteuid() == 0;
            // An unprivileged run's sandbox maps only the caller's uid: present the files as the
            // caller's, or root-owned files would be `nobody` inside (docs/architecture.md).
            var fsOptions = options.FileSystem
                ?? (root ? LayerFileSystemOptions.RealOwners : LayerFileSystemOptions.PresentOwner(Unistd.geteuid(), Unistd.getegid()));
            if (options.VerifyOnOpen)
                fsOptions = fsOptions with { VerifyOnOpen = true };
            var recorder = options.Merged && options.StartProfilePath is not null ? new StartProfileRecorder() : null;
            IFuseFileSystem fs = options.Merged ? new MergedFileSystem(readers, fsOptions, recorder) : new LayerFileSystem(readers[0], fsOptions);
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
            // The mount is usable: from here the start profile regions are decompressed ahead,
            // while the sandbox is set up, instead of on the boot's first reads.
            foreach (var reader in readers)
                reader.StartPrefetch();
            return new LayerMount(options, readers, mount, session, recorder);
        }
        catch
        {
            TearDown(mount, session, readers, _ => { });
            throw;
        }
    }

    /// <summary>
    /// Opens and validates every layer, several at once (each open decompresses and checks its
    /// metadata), taking over those <see cref="LayerMountOptions.OpenedReaders"/> has open already;
    /// on any failure closes the others and throws the failure of the lowest layer.
    /// </summary>
    private static LayerReader[] OpenAll(LayerMountOptions options)
    {
        var layers = options.Layers;
        var readers = new LayerReader?[layers.Count];
        var failures = new Exception?[layers.Count];
        var opened = options.OpenedReaders is { } set && set.Serves(layers, options.Reader) ? set : null;
        void Open(int i)
        {
            var layer = layers[i];
            try
            {
                readers[i] = opened?.Take(i) ?? LayerReader.Open(layer.Path, layer.Offset, layer.Size, options.Reader);
            }
            catch (InvalidLayerException e)
            {
                failures[i] = options.Merged ? e.At(i, layer.Offset) : e;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failures[i] = e;
            }
        }
        if (layers.Count == 1)
            Open(0);
        else
            Parallel.For(0, layers.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(Environment.ProcessorCount, 1, 4) }, Open);
        if (failures.FirstOrDefault(f => f is not null) is { } failure)
        {
            foreach (var reader in readers)
                reader?.Dispose();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
        return readers.Select(r => r!).ToArray();
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
        TearDown(Mount, Session, Readers, log);
        // After the unmount: no read can come in any more, the recording is complete.
        if (_recorder is not null && Options.StartProfilePath is { } profile)
        {
            try
            {
                StartProfile.Write(profile, _recorder.Paths());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log($"start profile not written to {profile}: {e.Message}");
            }
        }
    }

    public void Dispose() => Stop(_ => { });

    private static void TearDown(FuseMount? mount, FuseSession? session, IReadOnlyList<LayerReader> readers, Action<string> log)
    {
        FuseTeardown.Stop(mount, session, log);
        foreach (var reader in readers)
            reader.Dispose();
    }
}
