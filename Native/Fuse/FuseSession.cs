using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Fuse;

/// <summary>
/// Serves one FUSE connection: N dedicated worker threads read requests from <c>/dev/fuse</c>,
/// dispatch them to an <see cref="IFuseFileSystem"/> through one <c>switch</c> over the opcode,
/// and write each reply with one write(2). It knows the protocol and nothing of mounts or of the
/// data it serves (see <see cref="FuseMount"/> and Runtime/Filesystems).
///
/// The device loop follows libfuse's errno rules (lib/fuse_lowlevel.c, fuse_session_receive_buf and
/// fuse_send_msg): a read that fails with ENODEV means the filesystem was unmounted or the
/// connection aborted, so the worker ends quietly; EINTR and EAGAIN retry; a reply whose write
/// fails with ENOENT answered a request the kernel had already given up on (interrupted), which
/// is not an error.
///
/// Lifetime: the session does not own the device handle; it holds a reference on it while
/// workers run. Unmount first (the workers then see ENODEV and end), then Dispose the session,
/// then close the device. The connection fd outlives a crashing worker: a handler exception is
/// answered with EIO and reported, and a worker whose loop failed can be restarted on the same fd.
/// </summary>
public sealed partial class FuseSession : IDisposable
{
    private readonly FuseDeviceHandle _device;
    private readonly IFuseFileSystem _fs;
    private readonly FuseValidity _entryValidity, _attrValidity, _negativeValidity;
    private readonly Func<fuse_opcode, bool>? _faultInjector;
    private readonly object _gate = new();
    private readonly FuseWorker[] _workers;            // protected by _gate once started
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _initialized = new();
    private State _state;                               // protected by _gate
    private volatile bool _ended;                       // ENODEV seen: the connection is gone
    private volatile FuseConnectionInfo? _connection;
    private int _running;                               // live worker threads, Interlocked

    private enum State { Created, Running, Stopping, Disposed }

    public FuseSession(FuseDeviceHandle device, IFuseFileSystem fileSystem, FuseSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(fileSystem);
        Options = options ?? new FuseSessionOptions();
        if (Options.Workers < 1) throw new ArgumentOutOfRangeException(nameof(options), "at least one worker");
        if (Options.MaxWrite < 4096) throw new ArgumentOutOfRangeException(nameof(options), "max_write below 4096");
        _device = device;
        _fs = fileSystem;
        _entryValidity = FuseValidity.From(Options.EntryTimeout);
        _attrValidity = FuseValidity.From(Options.AttrTimeout);
        _negativeValidity = FuseValidity.From(Options.NegativeTimeout);
        _faultInjector = Options.FaultInjector;
        _workers = new FuseWorker[Options.Workers];
    }

    public FuseSessionOptions Options { get; }

    /// <summary>What FUSE_INIT negotiated; null until the kernel's INIT was answered.</summary>
    public FuseConnectionInfo? Connection => _connection;

    /// <summary>Completes when every worker has ended after the connection ended or Dispose.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Workers reading their own FUSE_DEV_IOC_CLONE fd (the others share the mount's fd).</summary>
    public int ClonedWorkers { get; private set; }

    /// <summary>Whether the kernel reported the end of the connection (unmount or abort).</summary>
    public bool Ended => _ended;

    /// <summary>
    /// A handler threw (the request got EIO) or a worker loop failed. Raised on the worker thread;
    /// subscribers must not block. The future mount actor restarts stopped workers from here.
    /// </summary>
    public event Action<FuseWorkerFault>? WorkerFaulted;

    /// <summary>Opens the worker clones and starts the worker threads.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_state != State.Created) throw new InvalidOperationException("the FUSE session was already started");
            int inSize = Math.Max(FuseKernel.FUSE_MIN_READ_BUFFER,
                Unsafe.SizeOf<fuse_in_header>() + 64 /* fuse_write_in and slack */ + (int)Options.MaxWrite);
            inSize = (inSize + 4095) & ~4095;
            int outSize = FuseReply.HeaderSize + Math.Max(Options.MaxPages, (ushort)32) * 4096;
            try
            {
                bool canClone = true;
                for (int i = 0; i < _workers.Length; i++)
                {
                    // Worker 0 reads the mount's own fd; the others get a clone each, so that each
                    // has its own request queue and lock in the kernel (FUSE_DEV_IOC_CLONE).
                    FuseDeviceHandle? clone = null;
                    if (i > 0 && canClone)
                    {
                        try
                        {
                            clone = _device.Clone();
                            ClonedWorkers++;
                        }
                        catch (ErrnoException e) when (e.Errno is Errno.EACCES or Errno.EPERM or Errno.ENOENT or Errno.EINVAL or Errno.ENOTTY)
                        {
                            // No clone ioctl (kernels before 4.5: ENOTTY/EINVAL), or no /dev/fuse we
                            // may open (a sandbox handed us the fd without the node: ENOENT/EACCES).
                            // As libfuse does, share the one fd: correct, only with more contention
                            // on its lock.
                            canClone = false;
                        }
                    }
                    _workers[i] = new FuseWorker(i, clone ?? _device, ownsDevice: clone is not null, inSize, outSize);
                }
            }
            catch
            {
                foreach (var w in _workers) w?.Dispose();
                throw;
            }
            _state = State.Running;
            for (int i = 0; i < _workers.Length; i++) StartThread(_workers[i]);
        }
    }

    /// <summary>Waits until FUSE_INIT was answered (the mount is usable from then on).</summary>
    public bool WaitForInit(TimeSpan timeout) => _initialized.Wait(timeout);

    /// <summary>
    /// Starts worker <paramref name="index"/> again on its own fd and buffers after it stopped (a
    /// <see cref="FuseWorkerFault"/> with WorkerStopped). Returns false if it never stopped. Call it
    /// from another thread than the faulting worker's (e.g. the supervising actor's): it first
    /// waits for the old thread to finish reporting.
    /// </summary>
    public bool RestartWorker(int index)
    {
        lock (_gate)
        {
            if (_state != State.Running) throw new InvalidOperationException("the FUSE session is not running");
            var w = _workers[index];
            if (!w.Stopped) return false;
            if (w.Thread == Thread.CurrentThread)
                throw new InvalidOperationException("a FUSE worker cannot restart itself from its fault report");
            w.Thread?.Join();
            w.Stopped = false;
            StartThread(w);
            return true;
        }
    }

    /// <summary>
    /// Stops serving: waits up to <see cref="FuseSessionOptions.StopTimeout"/> for the workers to see
    /// the end of the connection (unmount first), then releases the clones. Workers still blocked
    /// in read(2) on a live connection keep their reference on their fd and end when it ends.
    /// </summary>
    public void Dispose()
    {
        _notifications.Writer.TryComplete();
        lock (_gate)
        {
            if (_state is State.Disposed or State.Stopping) return;
            var was = _state;
            _state = State.Stopping;
            if (was == State.Created)
            {
                _state = State.Disposed;
                _completion.TrySetResult();
                return;
            }
        }
        var deadline = Environment.TickCount64 + (long)Options.StopTimeout.TotalMilliseconds;
        foreach (var w in _workers)
        {
            var left = (int)Math.Max(0, deadline - Environment.TickCount64);
            w.Thread?.Join(left);
        }
        lock (_gate)
        {
            foreach (var w in _workers) w.Dispose();
            _state = State.Disposed;
        }
    }

    private void StartThread(FuseWorker w)
    {
        Interlocked.Increment(ref _running);
        w.Thread = new Thread(() => Run(w))
        {
            IsBackground = true,
            Name = $"{Options.Name}-{w.Index}",
        };
        w.Thread.Start();
    }

    // Worker side, one thread per FuseWorker -------------------------------------------------

    private unsafe void Run(FuseWorker w)
    {
        bool added = false;
        try
        {
            w.Device.DangerousAddRef(ref added);
            int fd = w.Device.Fd;
            int headerSize = sizeof(fuse_in_header);
            while (!_ended)
            {
                nint n = Unistd.read(fd, w.In, (nuint)w.InSize);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is Errno.EINTR or Errno.EAGAIN) continue;
                    if (errno == Errno.ENODEV)
                    {
                        // Unmounted or aborted: the session ended, quietly.
                        _ended = true;
                        break;
                    }
                    w.Stopped = true;
                    Report(new FuseWorkerFault(w.Index, null, new ErrnoException(errno, "read", "/dev/fuse"), WorkerStopped: true));
                    return;
                }
                if (n < headerSize || ((fuse_in_header*)w.In)->len != (uint)n)
                {
                    Report(new FuseWorkerFault(w.Index, null,
                        new InvalidDataException($"/dev/fuse: short or inconsistent request ({n} bytes)"), WorkerStopped: false));
                    continue;
                }
                Dispatch(w, ref *(fuse_in_header*)w.In, new ReadOnlySpan<byte>(w.In + headerSize, (int)n - headerSize));
            }
        }
        catch (Exception ex) // reported, not swallowed: the worker stops and can be restarted
        {
            // Only a bug of ours or a throwing WorkerFaulted subscriber gets here (handler exceptions
            // are answered inside Dispatch). The connection fd and buffers stay for RestartWorker;
            // if this report throws too, the exception ends the process.
            w.Stopped = true;
            Report(new FuseWorkerFault(w.Index, null, ex, WorkerStopped: true));
        }
        finally
        {
            if (added) w.Device.DangerousRelease();
            if (Interlocked.Decrement(ref _running) == 0 && (_ended || _state != State.Running))
                _completion.TrySetResult();
        }
    }

    private unsafe void Dispatch(FuseWorker w, ref fuse_in_header h, ReadOnlySpan<byte> input)
    {
        var op = (fuse_opcode)h.opcode;
        // READ/READDIR/READDIRPLUS and the xattr calls bound their reply by the size they ask for.
        uint limit = uint.MaxValue, xattrSize = 0;
        if (op is fuse_opcode.FUSE_READ or fuse_opcode.FUSE_READDIR or fuse_opcode.FUSE_READDIRPLUS
            && input.Length >= sizeof(fuse_read_in))
            limit = MemoryMarshal.AsRef<fuse_read_in>(input).size;
        else if (op is fuse_opcode.FUSE_GETXATTR or fuse_opcode.FUSE_LISTXATTR && input.Length >= sizeof(fuse_getxattr_in))
        {
            // Size 0 is the size probe: the reply is a fuse_getxattr_out, not bounded by it.
            xattrSize = MemoryMarshal.AsRef<fuse_getxattr_in>(input).size;
            if (xattrSize != 0) limit = xattrSize;
        }
        var reply = new FuseReply(w.OutPayload(limit), xattrSize, _entryValidity, _attrValidity, _negativeValidity);
        int rc;
        Exception? fault = null;
        try
        {
            if (_faultInjector is not null && _faultInjector(op))
                throw new FuseInjectedFaultException(op);
            switch (op)
            {
                case fuse_opcode.FUSE_INIT:
                    rc = Init(in h, input, ref reply);
                    break;
                case fuse_opcode.FUSE_DESTROY:
                    _fs.Destroy();
                    rc = 0;
                    break;
                case fuse_opcode.FUSE_FORGET:
                    _fs.Forget(h.nodeid, In<fuse_forget_in>(input).nlookup);
                    return; // FORGET never gets a reply
                case fuse_opcode.FUSE_BATCH_FORGET:
                {
                    ref readonly var batch = ref In<fuse_batch_forget_in>(input);
                    var ones = MemoryMarshal.Cast<byte, fuse_forget_one>(input[sizeof(fuse_batch_forget_in)..]);
                    int count = (int)Math.Min(batch.count, (uint)ones.Length);
                    for (int i = 0; i < count; i++) _fs.Forget(ones[i].nodeid, ones[i].nlookup);
                    return; // nor does BATCH_FORGET
                }
                case fuse_opcode.FUSE_INTERRUPT:
                    // No reply, no action. Our handlers are synchronous, short and never wait on
                    // anything but the disk, so the interrupted request is answered moments later
                    // anyway and the kernel drops that answer (its write returns ENOENT). libfuse
                    // keeps a list of requests only to abort long-running ones; we have none, and
                    // the kernel needs no reply to FUSE_INTERRUPT (fuse.h, "interrupt").
                    return;
                case fuse_opcode.FUSE_LOOKUP:
                    rc = _fs.Lookup(in h, Name(input), ref reply);
                    break;
                case fuse_opcode.FUSE_GETATTR:
                    rc = _fs.GetAttr(in h, in In<fuse_getattr_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_READLINK:
                    rc = _fs.ReadLink(in h, ref reply);
                    break;
                case fuse_opcode.FUSE_OPEN:
                    rc = _fs.Open(in h, in In<fuse_open_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_READ:
                    rc = _fs.Read(in h, in In<fuse_read_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_RELEASE:
                    rc = _fs.Release(in h, in In<fuse_release_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_OPENDIR:
                    rc = _fs.OpenDir(in h, in In<fuse_open_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_READDIR:
                    rc = _fs.ReadDir(in h, in In<fuse_read_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_READDIRPLUS:
                    rc = _fs.ReadDirPlus(in h, in In<fuse_read_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_RELEASEDIR:
                    rc = _fs.ReleaseDir(in h, in In<fuse_release_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_STATFS:
                    rc = _fs.StatFs(in h, ref reply);
                    break;
                case fuse_opcode.FUSE_GETXATTR:
                    rc = _fs.GetXattr(in h, in In<fuse_getxattr_in>(input),
                        Name(input[sizeof(fuse_getxattr_in)..]), ref reply);
                    break;
                case fuse_opcode.FUSE_LISTXATTR:
                    rc = _fs.ListXattr(in h, in In<fuse_getxattr_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_ACCESS:
                    rc = _fs.Access(in h, in In<fuse_access_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_SETATTR:
                    rc = _fs.SetAttr(in h, in In<fuse_setattr_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_MKNOD:
                    rc = _fs.MkNod(in h, in In<fuse_mknod_in>(input), Name(input[sizeof(fuse_mknod_in)..]), ref reply);
                    break;
                case fuse_opcode.FUSE_MKDIR:
                    rc = _fs.MkDir(in h, in In<fuse_mkdir_in>(input), Name(input[sizeof(fuse_mkdir_in)..]), ref reply);
                    break;
                case fuse_opcode.FUSE_SYMLINK:
                {
                    // Two NUL-terminated strings: the link's name, then its target.
                    var name = Name(input);
                    rc = _fs.Symlink(in h, name, Name(input[Math.Min(name.Length + 1, input.Length)..]), ref reply);
                    break;
                }
                case fuse_opcode.FUSE_LINK:
                    rc = _fs.Link(in h, in In<fuse_link_in>(input), Name(input[sizeof(fuse_link_in)..]), ref reply);
                    break;
                case fuse_opcode.FUSE_UNLINK:
                    rc = _fs.Unlink(in h, Name(input), ref reply);
                    break;
                case fuse_opcode.FUSE_RMDIR:
                    rc = _fs.RmDir(in h, Name(input), ref reply);
                    break;
                case fuse_opcode.FUSE_RENAME:
                case fuse_opcode.FUSE_RENAME2:
                {
                    ulong newDir;
                    uint flags = 0;
                    int skip;
                    if (op == fuse_opcode.FUSE_RENAME)
                    {
                        newDir = In<fuse_rename_in>(input).newdir;
                        skip = sizeof(fuse_rename_in);
                    }
                    else
                    {
                        ref readonly var r2 = ref In<fuse_rename2_in>(input);
                        (newDir, flags, skip) = (r2.newdir, r2.flags, sizeof(fuse_rename2_in));
                    }
                    // The old name, then the new one, each NUL-terminated.
                    var names = input[skip..];
                    var oldName = Name(names);
                    var newName = Name(names[Math.Min(oldName.Length + 1, names.Length)..]);
                    rc = _fs.Rename(in h, newDir, flags, oldName, newName, ref reply);
                    break;
                }
                case fuse_opcode.FUSE_CREATE:
                    rc = _fs.Create(in h, in In<fuse_create_in>(input), Name(input[sizeof(fuse_create_in)..]), ref reply);
                    break;
                case fuse_opcode.FUSE_WRITE:
                {
                    ref readonly var write = ref In<fuse_write_in>(input);
                    var data = input[sizeof(fuse_write_in)..];
                    if ((uint)data.Length < write.size)
                        throw new InvalidDataException("/dev/fuse: WRITE shorter than its size");
                    rc = _fs.Write(in h, in write, data[..(int)write.size], ref reply);
                    break;
                }
                case fuse_opcode.FUSE_FLUSH:
                    rc = _fs.Flush(in h, in In<fuse_flush_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_FSYNC:
                    rc = _fs.Fsync(in h, in In<fuse_fsync_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_FSYNCDIR:
                    rc = _fs.FsyncDir(in h, in In<fuse_fsync_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_FALLOCATE:
                    rc = _fs.Fallocate(in h, in In<fuse_fallocate_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_SETXATTR:
                {
                    // Without FUSE_SETXATTR_EXT (never asked for) the argument is the 8-byte compat
                    // struct: size and flags, then the NUL-terminated name, then the value.
                    if (input.Length < FuseKernel.FUSE_COMPAT_SETXATTR_IN_SIZE)
                        throw new InvalidDataException("/dev/fuse: SETXATTR argument too short");
                    uint size = MemoryMarshal.Read<uint>(input), flags = MemoryMarshal.Read<uint>(input[4..]);
                    var rest = input[FuseKernel.FUSE_COMPAT_SETXATTR_IN_SIZE..];
                    var name = Name(rest);
                    var value = rest[Math.Min(name.Length + 1, rest.Length)..];
                    if ((uint)value.Length < size)
                        throw new InvalidDataException("/dev/fuse: SETXATTR value shorter than its size");
                    rc = _fs.SetXattr(in h, flags, name, value[..(int)size], ref reply);
                    break;
                }
                case fuse_opcode.FUSE_REMOVEXATTR:
                    rc = _fs.RemoveXattr(in h, Name(input), ref reply);
                    break;
                case fuse_opcode.FUSE_LSEEK:
                    rc = _fs.Lseek(in h, in In<fuse_lseek_in>(input), ref reply);
                    break;
                case fuse_opcode.FUSE_COPY_FILE_RANGE:
                    rc = _fs.CopyFileRange(in h, in In<fuse_copy_file_range_in>(input), ref reply);
                    break;
                default:
                    // Locks, ioctl, poll, bmap, tmpfile, syncfs: the kernel remembers ENOSYS for some (FLUSH, FSYNC: success from now
                    // on) and returns the errno to the caller for the rest.
                    rc = Errno.ENOSYS;
                    break;
            }
            if (rc == 0 && reply.State == FuseReply.ReplyState.None && !EmptyIsValid(op))
                throw new InvalidOperationException($"the {op} handler returned 0 without a reply");
        }
        catch (Exception ex) // the documented exception to "no catch-all": it is reported, not swallowed
        {
            fault = ex;
            rc = Errno.EIO;
        }
        if (fault is not null && op is fuse_opcode.FUSE_FORGET or fuse_opcode.FUSE_BATCH_FORGET or fuse_opcode.FUSE_INTERRUPT)
        {
            Report(new FuseWorkerFault(w.Index, op, fault, WorkerStopped: false));
            return;
        }
        if (rc != 0 && reply.State == FuseReply.ReplyState.Dirents && reply.Length > 0)
        {
            // As libfuse's readdirplus: an error after the first entry is not reported; the entries
            // already added are sent (the kernel took references on them) and the error comes back
            // on the next call, when the buffer is empty.
            rc = 0;
        }
        Send(w, h.unique, rc != 0 ? rc : reply.ErrorNumber, rc != 0 ? 0 : reply.Length);
        if (op == fuse_opcode.FUSE_INIT && _connection is not null)
            _initialized.Set();
        // Reported only after the reply: the kernel must not wait on a subscriber.
        if (fault is not null)
            Report(new FuseWorkerFault(w.Index, op, fault, WorkerStopped: false));
    }

    private static bool EmptyIsValid(fuse_opcode op) => op is fuse_opcode.FUSE_RELEASE or fuse_opcode.FUSE_RELEASEDIR
        or fuse_opcode.FUSE_ACCESS or fuse_opcode.FUSE_DESTROY or fuse_opcode.FUSE_READ
        or fuse_opcode.FUSE_READDIR or fuse_opcode.FUSE_READDIRPLUS
        or fuse_opcode.FUSE_UNLINK or fuse_opcode.FUSE_RMDIR or fuse_opcode.FUSE_RENAME or fuse_opcode.FUSE_RENAME2
        or fuse_opcode.FUSE_FLUSH or fuse_opcode.FUSE_FSYNC or fuse_opcode.FUSE_FSYNCDIR or fuse_opcode.FUSE_FALLOCATE
        or fuse_opcode.FUSE_SETXATTR or fuse_opcode.FUSE_REMOVEXATTR;

    /// <summary>The reply writer: the only place where an errno is negated (fuse_out_header.error).</summary>
    private unsafe void Send(FuseWorker w, ulong unique, int errno, int payloadLength)
    {
        var oh = (fuse_out_header*)w.Out;
        int len = FuseReply.HeaderSize + (errno == 0 ? payloadLength : 0);
        oh->len = (uint)len;
        oh->error = -errno;
        oh->unique = unique;
        while (true)
        {
            nint n = Unistd.write(w.Device.Fd, w.Out, (nuint)len);
            if (n >= 0) return;
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EINTR) continue;
            // ENOENT: the request was interrupted and the kernel no longer waits for it.
            // ENODEV: the connection ended under us; the next read says so.
            if (e is Errno.ENOENT or Errno.ENODEV) return;
            Report(new FuseWorkerFault(w.Index, null, new ErrnoException(e, "write", "/dev/fuse"), WorkerStopped: false));
            return;
        }
    }

    /// <summary>
    /// FUSE_INIT: agree on the protocol version and the features. We reply with our minor version
    /// (or the kernel's, if older) and only with flags the kernel offered.
    /// </summary>
    private int Init(in fuse_in_header h, ReadOnlySpan<byte> input, ref FuseReply reply)
    {
        // fuse_init_in grew over time: before 7.36 it was major, minor, max_readahead, flags only.
        if (input.Length < 8) return Errno.EINVAL;
        uint major = MemoryMarshal.Read<uint>(input);
        uint minor = MemoryMarshal.Read<uint>(input[4..]);
        uint readahead = input.Length >= 12 ? MemoryMarshal.Read<uint>(input[8..]) : 0;
        ulong kflags = input.Length >= 16 ? MemoryMarshal.Read<uint>(input[12..]) : 0;
        if ((kflags & FuseKernel.FUSE_INIT_EXT) != 0 && input.Length >= 20)
            kflags |= (ulong)MemoryMarshal.Read<uint>(input[16..]) << 32;

        if (major < FuseKernel.FUSE_KERNEL_VERSION) return Errno.EPROTO;
        var span = reply.DataBuffer();
        if (major > FuseKernel.FUSE_KERNEL_VERSION)
        {
            // A newer major: tell the kernel ours, it may retry INIT with it (fuse_lowlevel.c does the same).
            span[..Unsafe.SizeOf<fuse_init_out>()].Clear();
            ref var o = ref MemoryMarshal.AsRef<fuse_init_out>(span);
            o.major = FuseKernel.FUSE_KERNEL_VERSION;
            o.minor = FuseKernel.FUSE_KERNEL_MINOR_VERSION;
            reply.CommitData(FuseKernel.FUSE_COMPAT_INIT_OUT_SIZE);
            return 0;
        }
        // 7.12 (Linux 2.6.29) is the oldest layout of the request structs we read.
        if (minor < 12) return Errno.EPROTO;
        uint protoMinor = Math.Min(minor, FuseKernel.FUSE_KERNEL_MINOR_VERSION);

        ulong want =
            // The kernel may send several READs of one file at once (readahead in parallel)
            // instead of one at a time; our reads are stateless, so let it.
            FuseKernel.FUSE_ASYNC_READ
            // Reads larger than one page per request (pre-2.6.26 kernels only; harmless after).
            | FuseKernel.FUSE_BIG_WRITES
            // READDIRPLUS returns each entry's attributes with the listing, which saves one LOOKUP
            // per entry in `ls -l`, find and the metadata walks of app start-up. AUTO lets the kernel
            // use plain READDIR when nobody stats the entries (e.g. a bare readdir loop).
            | FuseKernel.FUSE_DO_READDIRPLUS | FuseKernel.FUSE_READDIRPLUS_AUTO
            // Lookups and readdirs in one directory run concurrently instead of serialized by the
            // directory's inode lock: our handlers are thread-safe and never modify anything.
            | FuseKernel.FUSE_PARALLEL_DIROPS
            // Honor max_pages below: 1 MiB reads instead of 128 KiB (fewer round trips on cold reads).
            | FuseKernel.FUSE_MAX_PAGES
            // Symlink targets are kept in the page cache: they never change in a layer.
            | FuseKernel.FUSE_CACHE_SYMLINKS
            // Zero-message open: a filesystem whose Open/OpenDir answers ENOSYS is sent no more
            // OPEN/RELEASE (OPENDIR/RELEASEDIR) at all, and the kernel then opens files as if with
            // FOPEN_KEEP_CACHE (and directories with FOPEN_CACHE_DIR): two round trips less per
            // open(2) of immutable data. Granting the flag changes nothing for a filesystem that
            // implements Open.
            | FuseKernel.FUSE_NO_OPEN_SUPPORT | FuseKernel.FUSE_NO_OPENDIR_SUPPORT;
        ulong granted = kflags & want;

        span[..Unsafe.SizeOf<fuse_init_out>()].Clear();
        ref var outArg = ref MemoryMarshal.AsRef<fuse_init_out>(span);
        outArg.major = FuseKernel.FUSE_KERNEL_VERSION;
        outArg.minor = FuseKernel.FUSE_KERNEL_MINOR_VERSION;
        outArg.max_readahead = Math.Min(readahead, Options.MaxReadahead);
        outArg.flags = (uint)granted;
        outArg.max_background = Options.MaxBackground;
        outArg.congestion_threshold = (ushort)(Options.MaxBackground * 3 / 4);
        outArg.max_write = Options.MaxWrite;
        outArg.time_gran = 1;
        ushort maxPages = 32;
        if ((granted & FuseKernel.FUSE_MAX_PAGES) != 0)
        {
            maxPages = Options.MaxPages;
            outArg.max_pages = maxPages;
        }
        // Bits 32..63 would go in flags2 with FUSE_INIT_EXT; we ask for none of them.
        int size = protoMinor < 5 ? FuseKernel.FUSE_COMPAT_INIT_OUT_SIZE
            : protoMinor < 23 ? FuseKernel.FUSE_COMPAT_22_INIT_OUT_SIZE
            : Unsafe.SizeOf<fuse_init_out>();

        var info = new FuseConnectionInfo(major, minor, protoMinor, kflags, granted, readahead, outArg.max_readahead,
            Options.MaxWrite, (uint)maxPages * 4096, maxPages, Options.MaxBackground);
        reply.CommitData(size);
        _fs.Init(info);
        _connection = info;
        return 0;
    }

    /// <summary>Raises <see cref="WorkerFaulted"/> on the worker thread.</summary>
    private void Report(FuseWorkerFault fault) => WorkerFaulted?.Invoke(fault);

    private static ref readonly T In<T>(ReadOnlySpan<byte> input) where T : unmanaged
    {
        if (input.Length < Unsafe.SizeOf<T>())
            throw new InvalidDataException($"/dev/fuse: request argument shorter than {typeof(T).Name}");
        return ref MemoryMarshal.AsRef<T>(input);
    }

    /// <summary>A NUL-terminated name from the request, without the NUL.</summary>
    private static ReadOnlySpan<byte> Name(ReadOnlySpan<byte> input)
    {
        int end = input.IndexOf((byte)0);
        return end < 0 ? input : input[..end];
    }
}
