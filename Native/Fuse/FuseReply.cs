using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Fuse;

/// <summary>
/// Writes the one reply to one FUSE request, in place, into the worker's pooled output buffer
/// right after the space for <c>fuse_out_header</c>: the worker then fills the header and sends
/// header and payload with a single write(2), no copy and no allocation (libfuse uses writev;
/// one contiguous buffer is simpler and as fast). Handlers write at most one reply: a second
/// one throws, which the worker turns into EIO. Errors are positive errnos here; only the
/// worker negates them in <c>fuse_out_header.error</c>.
/// </summary>
public ref struct FuseReply
{
    internal enum ReplyState : byte { None, Dirents, Done }

    internal static readonly int HeaderSize = Unsafe.SizeOf<fuse_out_header>();

    private readonly Span<byte> _payload; // the buffer after the header, at most the request's size
    private readonly uint _xattrSize;     // fuse_getxattr_in.size: 0 asks for the size only
    private readonly FuseValidity _entry, _attr, _negative;
    private int _length;
    private int _error;
    private ReplyState _state;

    internal FuseReply(Span<byte> payload, uint xattrSize, in FuseValidity entry, in FuseValidity attr, in FuseValidity negative)
    {
        _payload = payload;
        _xattrSize = xattrSize;
        _entry = entry;
        _attr = attr;
        _negative = negative;
        _length = 0;
        _error = 0;
        _state = ReplyState.None;
    }

    internal readonly ReplyState State => _state;
    internal readonly int Length => _length;
    internal readonly int ErrorNumber => _error;

    /// <summary>Replies with a positive errno (the same as returning it).</summary>
    public void Error(int errno)
    {
        if (errno <= 0) throw new ArgumentOutOfRangeException(nameof(errno), errno, "a positive errno");
        Begin(ReplyState.Done);
        _error = errno;
        _length = 0;
    }

    /// <summary>
    /// Replies with an entry: <paramref name="nodeid"/> with its attributes, cached for the
    /// session's entry and attribute timeouts. Takes one lookup reference on the node.
    /// </summary>
    public void Entry(ulong nodeid, in fuse_attr attr, ulong generation = 0)
    {
        ref var e = ref Struct<fuse_entry_out>(ReplyState.Done);
        FillEntry(ref e, nodeid, attr, generation);
    }

    /// <summary>Replies with a fully caller-built entry (own timeouts).</summary>
    public void Entry(in fuse_entry_out entry) => Struct<fuse_entry_out>(ReplyState.Done) = entry;

    /// <summary>
    /// Replies "no such entry" with node id 0, which the kernel caches for the negative timeout
    /// (fuse_lowlevel.h, fuse_reply_entry): repeated probes of missing names (library search
    /// paths) never reach us again. Only for data that cannot change.
    /// </summary>
    public void NegativeEntry()
    {
        ref var e = ref Struct<fuse_entry_out>(ReplyState.Done);
        e.entry_valid = _negative.Seconds;
        e.entry_valid_nsec = _negative.Nanoseconds;
    }

    /// <summary>Replies with attributes, cached for the session's attribute timeout.</summary>
    public void Attr(in fuse_attr attr)
    {
        ref var a = ref Struct<fuse_attr_out>(ReplyState.Done);
        a.attr_valid = _attr.Seconds;
        a.attr_valid_nsec = _attr.Nanoseconds;
        a.attr = attr;
    }

    /// <summary>Replies with a symlink target (no terminating NUL).</summary>
    public void ReadLink(ReadOnlySpan<byte> target) => Data(target);

    /// <summary>Replies to OPEN or OPENDIR with a handle and FOPEN_* flags.</summary>
    public void Open(ulong fh, uint openFlags)
    {
        ref var o = ref Struct<fuse_open_out>(ReplyState.Done);
        o.fh = fh;
        o.open_flags = openFlags;
    }

    /// <summary>Replies with data, copied; anything beyond the requested size is cut off.</summary>
    public void Data(ReadOnlySpan<byte> data)
    {
        Begin(ReplyState.Done);
        int n = Math.Min(data.Length, _payload.Length);
        data[..n].CopyTo(_payload);
        _length = n;
    }

    /// <summary>
    /// The buffer to read file data into directly (its length is the requested size); follow with
    /// <see cref="CommitData"/>. Zero copy: the bytes go from here to the kernel.
    /// </summary>
    public readonly Span<byte> DataBuffer() => _state == ReplyState.None ? _payload : throw AlreadyReplied();

    /// <summary>Sends the first <paramref name="length"/> bytes of <see cref="DataBuffer"/>.</summary>
    public void CommitData(int length)
    {
        if ((uint)length > (uint)_payload.Length) throw new ArgumentOutOfRangeException(nameof(length));
        Begin(ReplyState.Done);
        _length = length;
    }

    /// <summary>
    /// Appends a <c>fuse_dirent</c> to a READDIR reply. <paramref name="nextOffset"/> is the cookie the
    /// kernel passes back to continue after this entry; <paramref name="type"/> is the DT_* type
    /// (mode &gt;&gt; 12). Returns false, adding nothing, when the entry does not fit: stop there and return 0.
    /// </summary>
    public bool AddDirent(ulong ino, ulong nextOffset, uint type, ReadOnlySpan<byte> name)
    {
        int size = FuseKernel.FUSE_DIRENT_ALIGN(FuseKernel.FUSE_NAME_OFFSET + name.Length);
        if (!BeginDirent(size)) return false;
        var rec = _payload.Slice(_length, size);
        ref var d = ref MemoryMarshal.AsRef<fuse_dirent>(rec);
        d.ino = ino;
        d.off = nextOffset;
        d.namelen = (uint)name.Length;
        d.type = type;
        name.CopyTo(rec[FuseKernel.FUSE_NAME_OFFSET..]);
        rec[(FuseKernel.FUSE_NAME_OFFSET + name.Length)..].Clear(); // padding
        _length += size;
        return true;
    }

    /// <summary>
    /// Appends a <c>fuse_direntplus</c> (entry + dirent) to a READDIRPLUS reply. When it returns true
    /// the kernel takes one lookup reference on <paramref name="nodeid"/> (none for "." and "..");
    /// false means full, nothing added, no reference taken.
    /// </summary>
    public bool AddDirentPlus(ulong nodeid, in fuse_attr attr, ulong nextOffset, ReadOnlySpan<byte> name, ulong generation = 0)
    {
        int size = FuseKernel.FUSE_DIRENT_ALIGN(FuseKernel.FUSE_NAME_OFFSET_DIRENTPLUS + name.Length);
        if (!BeginDirent(size)) return false;
        var rec = _payload.Slice(_length, size);
        ref var d = ref MemoryMarshal.AsRef<fuse_direntplus>(rec);
        FillEntry(ref d.entry_out, nodeid, attr, generation);
        d.dirent.ino = attr.ino;
        d.dirent.off = nextOffset;
        d.dirent.namelen = (uint)name.Length;
        d.dirent.type = (attr.mode & Stat.S_IFMT) >> 12;
        name.CopyTo(rec[FuseKernel.FUSE_NAME_OFFSET_DIRENTPLUS..]);
        rec[(FuseKernel.FUSE_NAME_OFFSET_DIRENTPLUS + name.Length)..].Clear();
        _length += size;
        return true;
    }

    /// <summary>Replies to STATFS.</summary>
    public void StatFs(in fuse_kstatfs st) => Struct<fuse_statfs_out>(ReplyState.Done).st = st;

    /// <summary>
    /// Replies to GETXATTR/LISTXATTR with <paramref name="value"/>: the size alone when the
    /// request's size is 0, ERANGE when the value is larger than the request's size, else the bytes.
    /// </summary>
    public void Xattr(ReadOnlySpan<byte> value)
    {
        if (_xattrSize == 0)
        {
            Struct<fuse_getxattr_out>(ReplyState.Done).size = (uint)value.Length;
        }
        else if ((uint)value.Length > _xattrSize)
        {
            Error(Errno.ERANGE);
        }
        else
        {
            Data(value);
        }
    }

    /// <summary>Replies success with no payload (RELEASE, RELEASEDIR, ACCESS).</summary>
    public void Empty()
    {
        Begin(ReplyState.Done);
        _length = 0;
    }

    /// <summary>
    /// Replies with an entry whose name binding the kernel must not cache (entry timeout 0), while
    /// the attributes are cached as usual: for a name that reached the node only through a rule of
    /// the filesystem (another spelling of the stored name), which the next change may break.
    /// </summary>
    public void EntryUncachedName(ulong nodeid, in fuse_attr attr, ulong generation = 0)
    {
        ref var e = ref Struct<fuse_entry_out>(ReplyState.Done);
        FillEntry(ref e, nodeid, attr, generation);
        e.entry_valid = 0;
        e.entry_valid_nsec = 0;
    }

    /// <summary>
    /// Replies to CREATE: the new entry (one lookup reference, as <see cref="Entry(ulong, in fuse_attr, ulong)"/>)
    /// followed by the open handle; <paramref name="uncachedName"/> as <see cref="EntryUncachedName"/>.
    /// </summary>
    public void Create(ulong nodeid, in fuse_attr attr, ulong fh, uint openFlags, ulong generation = 0, bool uncachedName = false)
    {
        Begin(ReplyState.Done);
        int entrySize = Unsafe.SizeOf<fuse_entry_out>(), size = entrySize + Unsafe.SizeOf<fuse_open_out>();
        if (_payload.Length < size) throw new InvalidOperationException("reply buffer too small");
        var span = _payload[..size];
        span.Clear();
        ref var e = ref MemoryMarshal.AsRef<fuse_entry_out>(span);
        FillEntry(ref e, nodeid, attr, generation);
        if (uncachedName)
        {
            // As EntryUncachedName: the name reached the node through a rule of the filesystem.
            e.entry_valid = 0;
            e.entry_valid_nsec = 0;
        }
        ref var o = ref MemoryMarshal.AsRef<fuse_open_out>(span[entrySize..]);
        o.fh = fh;
        o.open_flags = openFlags;
        _length = size;
    }

    /// <summary>Replies to WRITE and COPY_FILE_RANGE with the number of bytes written.</summary>
    public void Written(uint size) => Struct<fuse_write_out>(ReplyState.Done).size = size;

    /// <summary>Replies to LSEEK with the resulting offset.</summary>
    public void Lseek(ulong offset) => Struct<fuse_lseek_out>(ReplyState.Done).offset = offset;

    private readonly void FillEntry(ref fuse_entry_out e, ulong nodeid, in fuse_attr attr, ulong generation)
    {
        e.nodeid = nodeid;
        e.generation = generation;
        e.entry_valid = _entry.Seconds;
        e.entry_valid_nsec = _entry.Nanoseconds;
        e.attr_valid = _attr.Seconds;
        e.attr_valid_nsec = _attr.Nanoseconds;
        e.attr = attr;
    }

    private ref T Struct<T>(ReplyState state) where T : unmanaged
    {
        Begin(state);
        int size = Unsafe.SizeOf<T>();
        var span = _payload.Length >= size ? _payload[..size] : throw new InvalidOperationException("reply buffer too small");
        span.Clear();
        _length = size;
        return ref MemoryMarshal.AsRef<T>(span);
    }

    private bool BeginDirent(int size)
    {
        if (_state == ReplyState.Done) throw AlreadyReplied();
        if (_length + size > _payload.Length) return false;
        _state = ReplyState.Dirents;
        return true;
    }

    private void Begin(ReplyState state)
    {
        if (_state != ReplyState.None) throw AlreadyReplied();
        _state = state;
    }

    private static InvalidOperationException AlreadyReplied() => new("a FUSE handler wrote more than one reply");
}
