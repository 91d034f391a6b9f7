using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// A read-write passthrough of one backing directory that ignores case on lookup and keeps the case a
/// name was created with (fim-casefold on): <c>/game/data/file.txt</c> opens the stored
/// <c>Game/Data/File.TXT</c>, and listings show <c>File.TXT</c>.
///
/// Overview.
/// <list type="bullet">
/// <item>Nodes. A FUSE node id names one stored entry: a directory (node keeps an O_PATH fd to it, so
/// it stays reachable across renames) or anything else (addressed as its parent directory's fd plus
/// its stored name). Every backing call is relative to a directory fd with one name component and
/// O_NOFOLLOW or AT_SYMLINK_NOFOLLOW: no call walks a path, so a symlink planted by the guest is
/// never followed out of the backing tree by us (the kernel resolves symlinks in the guest's view,
/// through READLINK). Hard links are one node per name (the backing inode number is st_ino).</item>
/// <item>Names. LOOKUP first tries the exact name; if absent it asks the directory's
/// <see cref="FoldIndex"/>, built from one listing of the directory on first need and kept current
/// by every create, rename and unlink served here (nothing else writes to the backing tree while the
/// sandbox runs). A name reached through another spelling is answered with an uncached entry (entry
/// timeout 0), so the next change of the directory is seen at once; missing names are never cached
/// either (a create in another case must make them resolve).</item>
/// <item>Creating a name whose folded key already exists opens or reports the existing entry
/// (CREATE opens it, MKDIR/MKNOD/SYMLINK/LINK answer EEXIST), and a rename keeps the new name's
/// case, replacing a target spelled differently.</item>
/// <item>Locks. <c>_tree</c> guards the node table and every node's parent, name and children;
/// it is never held across a syscall on the backing tree. Each directory's <c>Entries</c> lock
/// serializes the changes of that directory's entries with its index (check-then-create is atomic,
/// so many threads creating "a" and "A" at once make one file); a rename takes both directories'
/// locks in node-id order.</item>
/// <item>Open files are the backing fds themselves (fh = fd): READ and WRITE are one pread/pwrite
/// each, with big requests (max_write 1 MiB) and the kernel's page cache in front.</item>
/// </list>
/// Handlers never throw on bad input; errnos of the backing calls are passed on.
/// </summary>
public sealed unsafe class CasefoldFileSystem : IFuseFileSystem, IDisposable
{
    private const int NameMax = 255;
    private const int DirentBufferSize = 64 * 1024;

    private readonly object _tree = new();
    private readonly Dictionary<ulong, Node> _nodes = new(); // protected by _tree
    private ulong _nextId = FuseKernel.FUSE_ROOT_ID + 1;      // protected by _tree
    private readonly Node _root;
    private readonly Dictionary<(ulong, ulong), DirectoryState> _directories = new(); // protected by _tree
    private long _nextDirectoryOrder;                                                  // protected by _tree
    private readonly bool _giveToCaller;
    private readonly Action<string> _log;

    [ThreadStatic] private static byte[]? t_dirents;

    /// <summary>
    /// Serves the directory <paramref name="backingRoot"/> (an O_PATH or ordinary directory fd, owned
    /// from now on). As root, new entries are given to the calling uid/gid, as a local filesystem would
    /// do; otherwise they belong to this process's user. <paramref name="log"/> receives one line per
    /// notable event (names that differ only in case, once per directory listing).
    /// </summary>
    public CasefoldFileSystem(SafeFd backingRoot, bool giveToCaller, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(backingRoot);
        _root = new Node(FuseKernel.FUSE_ROOT_ID, isDirectory: true) { Fd = backingRoot, Lookups = 1 };
        Stat.statx_t st;
        if (StatFd(backingRoot.Fd, &st) != 0)
            throw new ArgumentException("the backing directory cannot be stat'ed", nameof(backingRoot));
        _root.State = ShareDirectoryState(in st);
        _nodes[_root.Id] = _root;
        _giveToCaller = giveToCaller;
        _log = log;
    }

    /// <summary>
    /// The session serving this filesystem, for telling the kernel to drop a cached name that a
    /// change made through another spelling left stale. Set before the session starts.
    /// </summary>
    public FuseSession? Notifier { get; set; }

    /// <summary>Nodes the kernel holds references to (for tests: forgets must free them).</summary>
    public int NodeCount
    {
        get { lock (_tree) return _nodes.Count; }
    }

    public void Init(FuseConnectionInfo connection) { }

    public void Destroy() { }

    /// <summary>Closes every directory fd. Call after the session has stopped.</summary>
    public void Dispose()
    {
        lock (_tree)
        {
            foreach (var node in _nodes.Values)
                node.Fd?.Dispose();
            _nodes.Clear();
        }
    }

    // Names -------------------------------------------------------------------------------

    /// <summary>Exact name first, then the directory's index. Valid replies: entry, uncached entry, ENOENT, ENOTDIR, ENAMETOOLONG.</summary>
    public int Lookup(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        if (name.Length > NameMax) return Errno.ENAMETOOLONG;
        int rc = AcquireDirectory(header.nodeid, out var dir);
        if (rc != 0) return rc;
        try
        {
            Stat.statx_t st;
            byte[] stored;
            bool exact;
            byte[]? indexed = null;
            bool answered = false;
            if (CaseFolding.Key(name) is not null)
            {
                // Once a directory is indexed, the index knows every valid UTF-8 name it holds: a
                // missing name (every create starts with one) costs no call on the backing tree.
                lock (dir.Entries)
                {
                    if (dir.Index is not null)
                    {
                        indexed = FindStored(dir, name);
                        answered = true;
                    }
                }
            }
            if (answered)
            {
                if (indexed is null) return Errno.ENOENT;
                stored = indexed;
                exact = name.SequenceEqual(stored);
                rc = StatAt(dir.Fd!, stored, &st);
                if (rc != 0) return rc;
            }
            else if ((rc = StatAt(dir.Fd!, name, &st)) == 0)
            {
                exact = true;
                stored = name.ToArray();
            }
            else
            {
                exact = false;
                if (rc != Errno.ENOENT) return rc;
                byte[]? found;
                lock (dir.Entries)
                {
                    found = FindStored(dir, name);
                }
                if (found is null) return Errno.ENOENT;
                stored = found;
                rc = StatAt(dir.Fd!, stored, &st);
                if (rc != 0) return rc;
            }
            rc = Remember(dir, stored, in st, out var node, exact ? null : Key(name));
            if (rc != 0) return rc;
            ToAttr(in st, out var attr);
            if (exact) reply.Entry(node.Id, in attr);
            else reply.EntryUncachedName(node.Id, in attr);
            return 0;
        }
        finally
        {
            Release(dir);
        }
    }

    /// <summary>Drops kernel references; a node with none left and no remembered children is freed. No reply.</summary>
    public void Forget(ulong nodeid, ulong nlookup)
    {
        lock (_tree)
        {
            if (!_nodes.TryGetValue(nodeid, out var node)) return;
            node.Lookups -= (long)Math.Min(nlookup, long.MaxValue);
            TryFree(node);
        }
    }

    // Attributes --------------------------------------------------------------------------

    /// <summary>Valid replies: attr, error.</summary>
    public int GetAttr(in fuse_in_header header, in fuse_getattr_in arg, ref FuseReply reply)
    {
        Stat.statx_t st;
        int rc;
        if ((arg.getattr_flags & FuseKernel.FUSE_GETATTR_FH) != 0 && arg.fh != 0)
        {
            // An open file answers through its own fd, even after its name was unlinked.
            rc = StatFd((int)arg.fh, &st);
        }
        else
        {
            rc = AcquirePath(header.nodeid, out var handle);
            if (rc != 0) return rc;
            try { rc = StatFd(handle.Fd, &st); }
            finally { handle.Dispose(); }
        }
        if (rc != 0) return rc;
        ToAttr(in st, out var attr);
        reply.Attr(in attr);
        return 0;
    }

    /// <summary>
    /// chmod, chown, truncate, utimens in that order, through the open handle when the kernel names
    /// one, else through an O_PATH fd of the node (its /proc/self/fd link for the calls that take a
    /// path: that link is the node itself and follows nothing the guest controls). Valid replies: attr, error.
    /// </summary>
    public int SetAttr(in fuse_in_header header, in fuse_setattr_in arg, ref FuseReply reply)
    {
        int rc = AcquirePath(header.nodeid, out var handle);
        if (rc != 0) return rc;
        try
        {
            bool hasFh = (arg.valid & FuseKernel.FATTR_FH) != 0 && arg.fh != 0;
            Stat.statx_t st;
            bool symlink = handle.Symlink;
            Span<byte> proc = stackalloc byte[32];
            ProcPath(handle.Fd, proc);
            fixed (byte* p = proc)
            {
                if ((arg.valid & FuseKernel.FATTR_MODE) != 0)
                {
                    if (symlink) return Errno.EOPNOTSUPP;
                    if ((hasFh ? Stat.fchmod((int)arg.fh, arg.mode & 0xFFF) : Stat.fchmodat(Stat.AT_FDCWD, p, arg.mode & 0xFFF, 0)) != 0)
                        return LastErrno();
                }
                if ((arg.valid & (FuseKernel.FATTR_UID | FuseKernel.FATTR_GID)) != 0)
                {
                    uint uid = (arg.valid & FuseKernel.FATTR_UID) != 0 ? arg.uid : uint.MaxValue;
                    uint gid = (arg.valid & FuseKernel.FATTR_GID) != 0 ? arg.gid : uint.MaxValue;
                    byte empty = 0;
                    if (Unistd.fchownat(handle.Fd, &empty, uid, gid, Fcntl.AT_EMPTY_PATH | Stat.AT_SYMLINK_NOFOLLOW) != 0)
                        return LastErrno();
                }
                if ((arg.valid & FuseKernel.FATTR_SIZE) != 0)
                {
                    if (hasFh)
                    {
                        if (Unistd.ftruncate((int)arg.fh, (long)arg.size) != 0) return LastErrno();
                    }
                    else
                    {
                        if (symlink) return Errno.EINVAL;
                        int fd = Fcntl.openat(Stat.AT_FDCWD, p, Fcntl.O_WRONLY | Fcntl.O_CLOEXEC, 0);
                        if (fd < 0) return LastErrno();
                        int trc = Unistd.ftruncate(fd, (long)arg.size);
                        int terr = trc != 0 ? LastErrno() : 0;
                        Unistd.close(fd);
                        if (terr != 0) return terr;
                    }
                }
                if ((arg.valid & (FuseKernel.FATTR_ATIME | FuseKernel.FATTR_MTIME)) != 0)
                {
                    var times = stackalloc Stat.timespec[2];
                    times[0] = Time(arg.valid, FuseKernel.FATTR_ATIME, FuseKernel.FATTR_ATIME_NOW, arg.atime, arg.atimensec);
                    times[1] = Time(arg.valid, FuseKernel.FATTR_MTIME, FuseKernel.FATTR_MTIME_NOW, arg.mtime, arg.mtimensec);
                    int trc;
                    if (hasFh)
                        trc = Stat.futimens((int)arg.fh, times);
                    else if (symlink)
                        trc = UtimensSymlink(header.nodeid, times);
                    else
                        trc = Stat.utimensat(Stat.AT_FDCWD, p, times, 0);
                    if (trc != 0) return trc > 0 ? trc : LastErrno();
                }
            }
            rc = StatFd(handle.Fd, &st);
            if (rc != 0) return rc;
            ToAttr(in st, out var attr);
            reply.Attr(in attr);
            return 0;
        }
        finally
        {
            handle.Dispose();
        }
    }

    /// <summary>Valid replies: the target, EINVAL for a non-symlink, error.</summary>
    public int ReadLink(in fuse_in_header header, ref FuseReply reply)
    {
        int rc = AcquirePath(header.nodeid, out var handle);
        if (rc != 0) return rc;
        try
        {
            var buffer = reply.DataBuffer();
            if (buffer.Length < 4096) return Errno.EIO;
            byte empty = 0;
            nint n;
            fixed (byte* b = buffer)
                n = Unistd.readlinkat(handle.Fd, &empty, b, (nuint)buffer.Length);
            if (n < 0) return LastErrno();
            reply.CommitData((int)n);
            return 0;
        }
        finally
        {
            handle.Dispose();
        }
    }

    // Creating and removing ---------------------------------------------------------------

    /// <summary>
    /// Creates and opens, or opens the entry the name already means in any case (EEXIST with O_EXCL).
    /// Valid replies: create (entry + handle), error.
    /// </summary>
    public int Create(in fuse_in_header header, in fuse_create_in arg, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        if (name.Length > NameMax) return Errno.ENAMETOOLONG;
        int rc = AcquireDirectory(header.nodeid, out var dir);
        if (rc != 0) return rc;
        try
        {
            int flags = ((int)arg.flags & ~(Fcntl.O_CREAT | Fcntl.O_EXCL | Fcntl.O_NOCTTY)) | Fcntl.O_NOFOLLOW | Fcntl.O_CLOEXEC;
            int fd;
            byte[] stored;
            lock (dir.Entries)
            {
                var existing = FindStoredForChange(dir, name);
                if (existing is not null)
                {
                    if (((int)arg.flags & Fcntl.O_EXCL) != 0) return Errno.EEXIST;
                    stored = existing;
                    fd = OpenAt(dir.Fd!, stored, flags, 0);
                    if (fd < 0) return LastErrno();
                }
                else
                {
                    stored = name.ToArray();
                    fd = OpenAt(dir.Fd!, stored, flags | Fcntl.O_CREAT | Fcntl.O_EXCL, arg.mode & 0xFFF);
                    if (fd < 0) return LastErrno();
                    GiveToCaller(fd, in header);
                    IndexAdd(dir, stored);
                }
            }
            Stat.statx_t st;
            Node? node = null;
            // Opened through another spelling: that spelling's own node, uncached, as Lookup answers it.
            bool respelled = !name.SequenceEqual(stored);
            rc = StatFd(fd, &st);
            if (rc == 0) rc = Remember(dir, stored, in st, out node, respelled ? Key(name) : null);
            if (rc != 0)
            {
                Unistd.close(fd);
                return rc;
            }
            ToAttr(in st, out var attr);
            reply.Create(node!.Id, in attr, (ulong)fd, 0, uncachedName: respelled);
            return 0;
        }
        finally
        {
            Release(dir);
        }
    }

    /// <summary>Valid replies: entry, EEXIST (also for another case of an existing name), error.</summary>
    public int MkDir(in fuse_in_header header, in fuse_mkdir_in arg, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        uint mode = arg.mode & 0xFFF;
        return MakeEntry(in header, name, ref reply, (dirFd, n) => Stat.mkdirat(dirFd, n, mode), freshDirectory: true);
    }

    /// <summary>Valid replies: entry, EEXIST, error.</summary>
    public int MkNod(in fuse_in_header header, in fuse_mknod_in arg, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        uint mode = arg.mode;
        ulong dev = Stat.makedev((arg.rdev >> 8) & 0xfff, (arg.rdev & 0xff) | ((arg.rdev >> 12) & 0xfff00));
        return MakeEntry(in header, name, ref reply, (dirFd, n) => Stat.mknodat(dirFd, n, mode, dev));
    }

    /// <summary>Valid replies: entry, EEXIST, error.</summary>
    public int Symlink(in fuse_in_header header, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, ref FuseReply reply)
    {
        if (target.Length >= 4096) return Errno.ENAMETOOLONG;
        var z = new byte[target.Length + 1];
        target.CopyTo(z);
        return MakeEntry(in header, name, ref reply, (dirFd, n) =>
        {
            fixed (byte* t = z) return Unistd.symlinkat(t, dirFd, n);
        });
    }

    /// <summary>Valid replies: entry (the new name's node), EEXIST, error.</summary>
    public int Link(in fuse_in_header header, in fuse_link_in arg, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        int rc = AcquireParentAndName(arg.oldnodeid, out var oldDir, out var oldName);
        if (rc != 0) return rc;
        try
        {
            var z = new byte[oldName.Length + 1];
            oldName.CopyTo(z, 0);
            int oldFd = oldDir.Fd!.Fd;
            return MakeEntry(in header, name, ref reply, (dirFd, n) =>
            {
                fixed (byte* o = z) return Unistd.linkat(oldFd, o, dirFd, n, 0);
            }, giveToCaller: false);
        }
        finally
        {
            Release(oldDir);
        }
    }

    /// <summary>Removes the entry the name means in any case (the exact spelling first). Valid replies: empty, error.</summary>
    public int Unlink(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply) => Remove(in header, name, 0);

    /// <summary>Valid replies: empty, ENOTEMPTY, error.</summary>
    public int RmDir(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply) => Remove(in header, name, Fcntl.AT_REMOVEDIR);

    /// <summary>
    /// Renames the entry <paramref name="name"/> means to <paramref name="newName"/>, spelled as
    /// given: a target that exists in another case is replaced (RENAME_NOREPLACE: EEXIST), and a
    /// rename to another case of the same entry changes only its case. Valid replies: empty, error.
    /// </summary>
    public int Rename(in fuse_in_header header, ulong newParent, uint flags, ReadOnlySpan<byte> name, ReadOnlySpan<byte> newName, ref FuseReply reply)
    {
        if (newName.Length > NameMax) return Errno.ENAMETOOLONG;
        if ((flags & ~(StdioAt.RENAME_NOREPLACE | StdioAt.RENAME_EXCHANGE)) != 0) return Errno.EINVAL;
        int rc = AcquireDirectory(header.nodeid, out var from);
        if (rc != 0) return rc;
        Node? to = null;
        try
        {
            rc = AcquireDirectory(newParent, out to);
            if (rc != 0)
            {
                to = null;
                return rc;
            }
            var first = from.State!.Order <= to.State!.Order ? from : to;
            var second = ReferenceEquals(first, from) ? to : from;
            lock (first.Entries)
            {
                lock (second.Entries)
                {
                    return RenameLocked(from, to, flags, name, newName);
                }
            }
        }
        finally
        {
            Release(from);
            if (to is not null) Release(to);
        }
    }

    private int RenameLocked(Node from, Node to, uint flags, ReadOnlySpan<byte> name, ReadOnlySpan<byte> newName)
    {
        var oldStored = FindStoredForChange(from, name);
        if (oldStored is null) return Errno.ENOENT;
        var target = FindStoredForChange(to, newName);
        bool sameEntry = target is not null && ReferenceEquals(from, to) && target.AsSpan().SequenceEqual(oldStored);
        var wanted = newName.ToArray();
        if ((flags & StdioAt.RENAME_EXCHANGE) != 0)
        {
            if (target is null) return Errno.ENOENT;
            if (RenameAt(from.Fd!, oldStored, to.Fd!, target, StdioAt.RENAME_EXCHANGE) is int xrc and not 0) return xrc;
            lock (_tree)
            {
                var a = Child(from, oldStored);
                var b = Child(to, target);
                Detach(from, oldStored);
                Detach(to, target);
                if (a is not null) Attach(to, target, a);
                if (b is not null) Attach(from, oldStored, b);
            }
            return 0;
        }
        InvalidateIfRespelled(from, oldStored, name);
        if (sameEntry)
        {
            // Another spelling of the same entry: only its case changes.
            if (oldStored.AsSpan().SequenceEqual(wanted)) return 0;
            if (RenameAt(from.Fd!, oldStored, to.Fd!, wanted, 0) is int crc and not 0) return crc;
        }
        else if (target is not null)
        {
            if ((flags & StdioAt.RENAME_NOREPLACE) != 0) return Errno.EEXIST;
            // Replace the target atomically under its stored spelling, then give it the new spelling.
            if (RenameAt(from.Fd!, oldStored, to.Fd!, target, 0) is int rrc and not 0) return rrc;
            IndexRemove(from, oldStored);
            lock (_tree)
            {
                var moved = Child(from, oldStored);
                Detach(from, oldStored);
                Detach(to, target);
                if (moved is not null) Attach(to, target, moved);
            }
            if (target.AsSpan().SequenceEqual(wanted)) return 0;
            InvalidateIfRespelled(to, target, wanted);
            if (RenameAt(to.Fd!, target, to.Fd!, wanted, 0) is int src and not 0) return src;
            oldStored = target;
            from = to;
        }
        else
        {
            if (RenameAt(from.Fd!, oldStored, to.Fd!, wanted, flags) is int nrc and not 0) return nrc;
        }
        IndexRemove(from, oldStored);
        IndexAdd(to, wanted);
        lock (_tree)
        {
            var moved = Child(from, oldStored);
            Detach(from, oldStored);
            if (moved is not null) Attach(to, wanted, moved);
        }
        return 0;
    }

    // Files -------------------------------------------------------------------------------

    /// <summary>
    /// Opens the stored entry (O_NOFOLLOW: a symlink is never opened here). No FOPEN flags: the
    /// kernel's page cache serves repeated reads and is dropped on the next open.
    /// Valid replies: open, error.
    /// </summary>
    public int Open(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply)
    {
        int rc = AcquireParentAndName(header.nodeid, out var dir, out var stored);
        if (rc != 0) return rc;
        try
        {
            int flags = ((int)arg.flags & ~(Fcntl.O_CREAT | Fcntl.O_EXCL | Fcntl.O_NOCTTY)) | Fcntl.O_NOFOLLOW | Fcntl.O_CLOEXEC;
            int fd = OpenAt(dir.Fd!, stored, flags, 0);
            if (fd < 0) return LastErrno();
            reply.Open((ulong)fd, 0);
            return 0;
        }
        finally
        {
            Release(dir);
        }
    }

    /// <summary>One pread straight into the reply buffer. Valid replies: data (short at end of file), error.</summary>
    public int Read(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply)
    {
        var buffer = reply.DataBuffer();
        int want = (int)Math.Min(arg.size, (uint)buffer.Length);
        nint n;
        fixed (byte* b = buffer)
            n = Unistd.pread((int)arg.fh, b, (nuint)want, (long)arg.offset);
        if (n < 0) return LastErrno();
        reply.CommitData((int)n);
        return 0;
    }

    /// <summary>One pwrite straight from the request buffer. Valid replies: written, error.</summary>
    public int Write(in fuse_in_header header, in fuse_write_in arg, ReadOnlySpan<byte> data, ref FuseReply reply)
    {
        nint n;
        fixed (byte* d = data)
            n = Unistd.pwrite((int)arg.fh, d, (nuint)data.Length, (long)arg.offset);
        if (n < 0) return LastErrno();
        reply.Written((uint)n);
        return 0;
    }

    /// <summary>
    /// Each close(2) of the guest's file: closing a duplicate reports what the backing filesystem
    /// has to say at close (a FUSE overlay may fail there), as libfuse's passthrough does.
    /// Valid replies: empty, error.
    /// </summary>
    public int Flush(in fuse_in_header header, in fuse_flush_in arg, ref FuseReply reply)
    {
        int dup = Unistd.dup((int)arg.fh);
        if (dup < 0) return LastErrno();
        return Unistd.close(dup) == 0 ? 0 : LastErrno();
    }

    /// <summary>Valid replies: empty, error (ignored by the kernel).</summary>
    public int Release(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply)
    {
        Unistd.close((int)arg.fh);
        return 0;
    }

    /// <summary>Valid replies: empty, error.</summary>
    public int Fsync(in fuse_in_header header, in fuse_fsync_in arg, ref FuseReply reply)
    {
        int rc = (arg.fsync_flags & FuseKernel.FUSE_FSYNC_FDATASYNC) != 0 ? Unistd.fdatasync((int)arg.fh) : Unistd.fsync((int)arg.fh);
        return rc == 0 ? 0 : LastErrno();
    }

    /// <summary>Valid replies: empty, error.</summary>
    public int FsyncDir(in fuse_in_header header, in fuse_fsync_in arg, ref FuseReply reply) =>
        Unistd.fsync((int)arg.fh) == 0 ? 0 : LastErrno();

    /// <summary>Valid replies: empty, error (EOPNOTSUPP when the backing filesystem cannot).</summary>
    public int Fallocate(in fuse_in_header header, in fuse_fallocate_in arg, ref FuseReply reply) =>
        Fcntl.fallocate((int)arg.fh, (int)arg.mode, (long)arg.offset, (long)arg.length) == 0 ? 0 : LastErrno();

    /// <summary>SEEK_DATA/SEEK_HOLE on the backing fd. Valid replies: lseek, error.</summary>
    public int Lseek(in fuse_in_header header, in fuse_lseek_in arg, ref FuseReply reply)
    {
        long off = Unistd.lseek((int)arg.fh, (long)arg.offset, (int)arg.whence);
        if (off < 0) return LastErrno();
        reply.Lseek((ulong)off);
        return 0;
    }

    /// <summary>
    /// copy_file_range between two backing fds: the backing filesystem may clone or copy in the
    /// kernel, and nothing passes through this process. Valid replies: written, error.
    /// </summary>
    public int CopyFileRange(in fuse_in_header header, in fuse_copy_file_range_in arg, ref FuseReply reply)
    {
        long offIn = (long)arg.off_in, offOut = (long)arg.off_out;
        nint n = Unistd.copy_file_range((int)arg.fh_in, &offIn, (int)arg.fh_out, &offOut, (nuint)Math.Min(arg.len, int.MaxValue), (uint)arg.flags);
        if (n < 0) return LastErrno();
        reply.Written((uint)n);
        return 0;
    }

    // Directories -------------------------------------------------------------------------

    /// <summary>Opens the backing directory for listing (fh = its fd). Valid replies: open, error.</summary>
    public int OpenDir(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply)
    {
        int rc = AcquireDirectory(header.nodeid, out var dir);
        if (rc != 0) return rc;
        try
        {
            int fd = OpenAt(dir.Fd!, "."u8, Fcntl.O_RDONLY | Fcntl.O_DIRECTORY | Fcntl.O_CLOEXEC, 0);
            if (fd < 0) return LastErrno();
            reply.Open((ulong)fd, 0);
            return 0;
        }
        finally
        {
            Release(dir);
        }
    }

    /// <summary>The stored names as they are, from the backing cookie on. Valid replies: dirents, empty, error.</summary>
    public int ReadDir(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply) => List(in header, in arg, ref reply, plus: false);

    /// <summary>As ReadDir, with each entry's attributes (one lookup reference each). Valid replies: dirents, empty, error.</summary>
    public int ReadDirPlus(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply) => List(in header, in arg, ref reply, plus: true);

    /// <summary>Valid replies: empty.</summary>
    public int ReleaseDir(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply)
    {
        Unistd.close((int)arg.fh);
        return 0;
    }

    private int List(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply, bool plus)
    {
        int fd = (int)arg.fh;
        Node? dir = null;
        if (plus)
        {
            int arc = AcquireDirectory(header.nodeid, out dir);
            if (arc != 0) return arc;
        }
        try
        {
            // The kernel passes back the backing filesystem's own cookie (d_off) of the last entry sent.
            if (Unistd.lseek(fd, (long)arg.offset, Unistd.SEEK_SET) < 0) return LastErrno();
            var buffer = t_dirents ??= new byte[DirentBufferSize];
            // Read about as many backing entries as the reply can take (a linux_dirent64 is about the
            // size of a fuse_dirent, a quarter of a fuse_direntplus): each call seeks back to its
            // cookie, so whatever is read beyond what fits is read again by the next call.
            int want = (int)Math.Clamp(plus ? arg.size / 4 : arg.size, 512, (uint)buffer.Length);
            while (true)
            {
                nint n;
                fixed (byte* b = buffer)
                    n = Dirent.getdents64(fd, b, (nuint)want);
                if (n < 0) return LastErrno();
                if (n == 0) return 0;
                int pos = 0;
                while (pos < n)
                {
                    var rec = buffer.AsSpan(pos);
                    ulong ino = MemoryMarshal.Read<ulong>(rec);
                    ulong next = MemoryMarshal.Read<ulong>(rec[8..]);
                    ushort reclen = MemoryMarshal.Read<ushort>(rec[Dirent.d_reclen_offset..]);
                    byte type = rec[Dirent.d_type_offset];
                    var nameArea = rec[Dirent.d_name_offset..reclen];
                    int nul = nameArea.IndexOf((byte)0);
                    var name = nul < 0 ? nameArea : nameArea[..nul];
                    pos += reclen;
                    if (!plus)
                    {
                        if (!reply.AddDirent(ino, next, type, name)) return 0;
                        continue;
                    }
                    bool dot = name.SequenceEqual("."u8) || name.SequenceEqual(".."u8);
                    if (dot)
                    {
                        var dotAttr = new fuse_attr { ino = ino, mode = (uint)type << 12 };
                        if (!reply.AddDirentPlus(0, in dotAttr, next, name)) return 0;
                        continue;
                    }
                    Stat.statx_t st;
                    if (StatAt(dir!.Fd!, name, &st) != 0)
                        continue; // gone since the listing was read
                    if (Remember(dir, name.ToArray(), in st, out var node) != 0)
                        continue;
                    ToAttr(in st, out var attr);
                    if (!reply.AddDirentPlus(node.Id, in attr, next, name))
                    {
                        // Not sent: the kernel took no reference.
                        Forget(node.Id, 1);
                        return 0;
                    }
                }
            }
        }
        finally
        {
            if (dir is not null) Release(dir);
        }
    }

    // Whole filesystem --------------------------------------------------------------------

    /// <summary>The backing filesystem's figures. Valid replies: statfs, error.</summary>
    public int StatFs(in fuse_in_header header, ref FuseReply reply)
    {
        Vfs.statfs_t s;
        int rc = AcquireDirectory(FuseKernel.FUSE_ROOT_ID, out var root);
        if (rc != 0) return rc;
        try
        {
            if (Vfs.fstatfs(root.Fd!.Fd, &s) != 0) return LastErrno();
        }
        finally
        {
            Release(root);
        }
        reply.StatFs(new fuse_kstatfs
        {
            blocks = s.f_blocks, bfree = s.f_bfree, bavail = s.f_bavail, files = s.f_files, ffree = s.f_ffree,
            bsize = (uint)s.f_bsize, namelen = (uint)Math.Min(s.f_namelen, NameMax), frsize = (uint)s.f_frsize,
        });
        return 0;
    }

    /// <summary>Mounted with default_permissions, the kernel checks modes itself. Valid replies: empty.</summary>
    public int Access(in fuse_in_header header, in fuse_access_in arg, ref FuseReply reply) => 0;

    // Extended attributes: through the node's /proc/self/fd link (an O_PATH fd takes no f*xattr
    // call). Symlinks carry none here: the link would be followed to the symlink's target.

    /// <summary>Valid replies: xattr (size probe, ERANGE), ENODATA, error.</summary>
    public int GetXattr(in fuse_in_header header, in fuse_getxattr_in arg, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        int rc = AcquireXattrPath(header.nodeid, out var handle, out var symlink);
        if (rc != 0) return rc;
        try
        {
            if (symlink) return Errno.ENODATA;
            Span<byte> proc = stackalloc byte[32];
            ProcPath(handle.Fd, proc);
            Span<byte> zname = stackalloc byte[name.Length + 1];
            name.CopyTo(zname);
            var value = new byte[Xattr.XATTR_SIZE_MAX];
            nint n;
            fixed (byte* p = proc)
            fixed (byte* z = zname)
            fixed (byte* v = value)
                n = Xattr.getxattr(p, z, v, (nuint)value.Length);
            if (n < 0) return LastErrno();
            reply.Xattr(value.AsSpan(0, (int)n));
            return 0;
        }
        finally
        {
            handle.Dispose();
        }
    }

    /// <summary>Valid replies: xattr (size probe, ERANGE), error.</summary>
    public int ListXattr(in fuse_in_header header, in fuse_getxattr_in arg, ref FuseReply reply)
    {
        int rc = AcquireXattrPath(header.nodeid, out var handle, out var symlink);
        if (rc != 0) return rc;
        try
        {
            if (symlink)
            {
                reply.Xattr([]);
                return 0;
            }
            Span<byte> proc = stackalloc byte[32];
            ProcPath(handle.Fd, proc);
            var list = new byte[Xattr.XATTR_LIST_MAX];
            nint n;
            fixed (byte* p = proc)
            fixed (byte* l = list)
                n = Xattr.listxattr(p, l, (nuint)list.Length);
            if (n < 0) return LastErrno();
            reply.Xattr(list.AsSpan(0, (int)n));
            return 0;
        }
        finally
        {
            handle.Dispose();
        }
    }

    /// <summary>Valid replies: empty, error.</summary>
    public int SetXattr(in fuse_in_header header, uint flags, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ref FuseReply reply)
    {
        int rc = AcquireXattrPath(header.nodeid, out var handle, out var symlink);
        if (rc != 0) return rc;
        try
        {
            if (symlink) return Errno.EPERM;
            Span<byte> proc = stackalloc byte[32];
            ProcPath(handle.Fd, proc);
            Span<byte> zname = stackalloc byte[name.Length + 1];
            name.CopyTo(zname);
            fixed (byte* p = proc)
            fixed (byte* z = zname)
            fixed (byte* v = value)
                return Xattr.setxattr(p, z, v, (nuint)value.Length, (int)flags) == 0 ? 0 : LastErrno();
        }
        finally
        {
            handle.Dispose();
        }
    }

    /// <summary>Valid replies: empty, ENODATA, error.</summary>
    public int RemoveXattr(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        int rc = AcquireXattrPath(header.nodeid, out var handle, out var symlink);
        if (rc != 0) return rc;
        try
        {
            if (symlink) return Errno.ENODATA;
            Span<byte> proc = stackalloc byte[32];
            ProcPath(handle.Fd, proc);
            Span<byte> zname = stackalloc byte[name.Length + 1];
            name.CopyTo(zname);
            fixed (byte* p = proc)
            fixed (byte* z = zname)
                return Xattr.removexattr(p, z) == 0 ? 0 : LastErrno();
        }
        finally
        {
            handle.Dispose();
        }
    }

    // Shared steps ------------------------------------------------------------------------

    private delegate int MakeCall(int dirFd, byte* name);

    /// <summary>MKDIR, MKNOD, SYMLINK, LINK: refuse any spelling of an existing name, make it, index it, answer its entry.</summary>
    private int MakeEntry(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply, MakeCall make, bool giveToCaller = true, bool freshDirectory = false)
    {
        if (name.Length > NameMax) return Errno.ENAMETOOLONG;
        int rc = AcquireDirectory(header.nodeid, out var dir);
        if (rc != 0) return rc;
        try
        {
            var stored = name.ToArray();
            Stat.statx_t st;
            lock (dir.Entries)
            {
                if (FindStoredForChange(dir, name) is not null) return Errno.EEXIST;
                Span<byte> z = stackalloc byte[name.Length + 1];
                name.CopyTo(z);
                fixed (byte* n = z)
                {
                    if (make(dir.Fd!.Fd, n) != 0) return LastErrno();
                    if (giveToCaller && _giveToCaller)
                        Unistd.fchownat(dir.Fd.Fd, n, header.uid, header.gid, Stat.AT_SYMLINK_NOFOLLOW);
                }
                IndexAdd(dir, stored);
                rc = StatAt(dir.Fd!, stored, &st);
                if (rc != 0) return rc;
            }
            rc = Remember(dir, stored, in st, out var node);
            if (rc != 0) return rc;
            if (freshDirectory && node.State is not null)
            {
                // Just made, so empty: its index needs no listing.
                lock (node.Entries) node.Index ??= new FoldIndex();
            }
            ToAttr(in st, out var attr);
            reply.Entry(node.Id, in attr);
            return 0;
        }
        finally
        {
            Release(dir);
        }
    }

    private int Remove(in fuse_in_header header, ReadOnlySpan<byte> name, int flags)
    {
        if (name.Length > NameMax) return Errno.ENAMETOOLONG;
        int rc = AcquireDirectory(header.nodeid, out var dir);
        if (rc != 0) return rc;
        try
        {
            lock (dir.Entries)
            {
                var stored = FindStoredForChange(dir, name);
                if (stored is null) return Errno.ENOENT;
                Span<byte> z = stackalloc byte[stored.Length + 1];
                stored.CopyTo(z);
                fixed (byte* n = z)
                {
                    if (Unistd.unlinkat(dir.Fd!.Fd, n, flags) != 0) return LastErrno();
                }
                IndexRemove(dir, stored);
                lock (_tree) Detach(dir, stored);
                InvalidateIfRespelled(dir, stored, name);
            }
            return 0;
        }
        finally
        {
            Release(dir);
        }
    }

    /// <summary>
    /// The stored name a change to <paramref name="name"/> acts on (caller holds dir.Entries): the
    /// exact name when it exists, else the index's match. Names without a fold key are checked
    /// exactly against the backing directory.
    /// </summary>
    private byte[]? FindStoredForChange(Node dir, ReadOnlySpan<byte> name)
    {
        if (dir.Index is not null && CaseFolding.Key(name) is not null)
            return FindStored(dir, name);
        Stat.statx_t st;
        if (StatAt(dir.Fd!, name, &st) == 0) return name.ToArray();
        return FindStored(dir, name);
    }

    /// <summary>The index's match for <paramref name="name"/> (caller holds dir.Entries); builds the index on first use.</summary>
    private byte[]? FindStored(Node dir, ReadOnlySpan<byte> name)
    {
        var index = EnsureIndex(dir);
        if (index is null) return null;
        var found = index.Find(name, out bool ambiguous);
        if (ambiguous)
            ReportAmbiguity(dir, found!);
        return found;
    }

    private FoldIndex? EnsureIndex(Node dir)
    {
        if (dir.Index is not null) return dir.Index;
        int fd = OpenAt(dir.Fd!, "."u8, Fcntl.O_RDONLY | Fcntl.O_DIRECTORY | Fcntl.O_CLOEXEC, 0);
        if (fd < 0) return null;
        var index = new FoldIndex();
        List<string>? ambiguous = null;
        try
        {
            var buffer = new byte[DirentBufferSize];
            while (true)
            {
                nint n;
                fixed (byte* b = buffer)
                    n = Dirent.getdents64(fd, b, (nuint)buffer.Length);
                if (n < 0) return null;
                if (n == 0) break;
                int pos = 0;
                while (pos < n)
                {
                    var rec = buffer.AsSpan(pos);
                    ushort reclen = MemoryMarshal.Read<ushort>(rec[Dirent.d_reclen_offset..]);
                    var nameArea = rec[Dirent.d_name_offset..reclen];
                    int nul = nameArea.IndexOf((byte)0);
                    var name = nul < 0 ? nameArea : nameArea[..nul];
                    pos += reclen;
                    if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) continue;
                    if (index.Add(name))
                        (ambiguous ??= []).Add(Printable(name));
                }
            }
        }
        finally
        {
            Unistd.close(fd);
        }
        if (ambiguous is not null)
            _log($"casefold: directory node {dir.Id} holds names that differ only in case ({string.Join(", ", ambiguous.Distinct().Take(8))}); each stays reachable by its exact spelling");
        dir.Index = index;
        return index;
    }

    private void ReportAmbiguity(Node dir, byte[] chosen)
    {
        var key = CaseFolding.Key(chosen) ?? "";
        lock (dir.Entries)
        {
            dir.ReportedAmbiguities ??= new HashSet<string>(StringComparer.Ordinal);
            if (!dir.ReportedAmbiguities.Add(key)) return;
        }
        _log($"casefold: '{Printable(chosen)}' answers a lookup that several names in directory node {dir.Id} match in another case");
    }

    /// <summary>
    /// A change that reached stored name <paramref name="stored"/> through another spelling: the
    /// kernel may still hold the stored spelling's binding (cached for the entry timeout) and knows
    /// nothing of the change, so drop it.
    /// </summary>
    private void InvalidateIfRespelled(Node dir, byte[] stored, ReadOnlySpan<byte> requested)
    {
        if (!requested.SequenceEqual(stored))
            Notifier?.InvalidateEntry(dir.Id, stored);
    }

    private static void IndexAdd(Node dir, byte[] name) => dir.Index?.Add(name);

    private static void IndexRemove(Node dir, byte[] name) => dir.Index?.Remove(name);

    /// <summary>
    /// The node for stored entry <paramref name="name"/> of <paramref name="dir"/>, one more kernel
    /// reference on it. With <paramref name="spelling"/> (a lookup that matched through folding) the
    /// node is that spelling's own alias node: the kernel's rename(2) of a file to another case of its
    /// own name is a no-op when both names are one inode, so other spellings must be other inodes
    /// (same st_ino) for "mv file.txt FILE.txt" to reach us at all.
    /// </summary>
    private int Remember(Node dir, byte[] name, in Stat.statx_t st, out Node node, string? spelling = null)
    {
        bool isDir = (st.stx_mode & Stat.S_IFMT) == Stat.S_IFDIR;
        SafeFd? fd = null;
        if (isDir)
        {
            int raw = OpenAt(dir.Fd!, name, Fcntl.O_PATH | Fcntl.O_DIRECTORY | Fcntl.O_NOFOLLOW | Fcntl.O_CLOEXEC, 0);
            if (raw < 0)
            {
                node = null!;
                return LastErrno();
            }
            fd = new SafeFd(raw);
        }
        lock (_tree)
        {
            if (spelling is not null)
            {
                dir.Aliases ??= new Dictionary<string, Node>(StringComparer.Ordinal);
                if (dir.Aliases.TryGetValue(spelling, out var alias) && alias.IsDirectory == isDir && alias.IsSymlink == IsLink(in st) && alias.Name is not null
                    && alias.Name.AsSpan().SequenceEqual(name))
                {
                    alias.Lookups++;
                    node = alias;
                    fd?.Dispose();
                    return 0;
                }
                if (alias is not null)
                    DetachAlias(dir, alias);
                node = new Node(_nextId++, isDir) { Fd = fd, Parent = dir, Name = name, Lookups = 1, Spelling = spelling, IsSymlink = IsLink(in st) };
                if (isDir) node.State = ShareDirectoryState(in st);
                _nodes[node.Id] = node;
                dir.Aliases[spelling] = node;
                return 0;
            }
            var key = Key(name);
            dir.Children ??= new Dictionary<string, Node>(StringComparer.Ordinal);
            if (dir.Children.TryGetValue(key, out var existing) && existing.IsDirectory == isDir && existing.IsSymlink == IsLink(in st))
            {
                existing.Lookups++;
                node = existing;
                fd?.Dispose();
                return 0;
            }
            if (existing is not null)
                Detach(dir, name);
            node = new Node(_nextId++, isDir) { Fd = fd, Parent = dir, Name = name, Lookups = 1, IsSymlink = IsLink(in st) };
            if (isDir) node.State = ShareDirectoryState(in st);
            _nodes[node.Id] = node;
            dir.Children[key] = node;
            return 0;
        }
    }

    private static Node? Child(Node dir, byte[] name) =>
        dir.Children is not null && dir.Children.TryGetValue(Key(name), out var n) ? n : null;

    /// <summary>
    /// The entry no longer has this name (caller holds _tree): its node, and the alias nodes of its
    /// other spellings, stay for the kernel's references, nameless.
    /// </summary>
    private void Detach(Node dir, byte[] name)
    {
        if (dir.Aliases is { Count: > 0 })
        {
            foreach (var alias in dir.Aliases.Values.Where(a => a.Name is not null && a.Name.AsSpan().SequenceEqual(name)).ToList())
                DetachAlias(dir, alias);
        }
        var key = Key(name);
        if (dir.Children is null || !dir.Children.Remove(key, out var node)) return;
        node.Parent = null;
        node.Name = null;
        TryFree(node);
    }

    private void DetachAlias(Node dir, Node alias)
    {
        dir.Aliases!.Remove(alias.Spelling!);
        alias.Parent = null;
        alias.Name = null;
        TryFree(alias);
    }

    private static void Attach(Node dir, byte[] name, Node node)
    {
        node.Parent = dir;
        node.Name = name;
        (dir.Children ??= new Dictionary<string, Node>(StringComparer.Ordinal))[Key(name)] = node;
    }

    /// <summary>Frees a node nobody references (caller holds _tree), then its parent if that was all it was kept for.</summary>
    private void TryFree(Node node)
    {
        while (node.Id != FuseKernel.FUSE_ROOT_ID && node.Lookups <= 0 && (node.Children is null || node.Children.Count == 0)
            && (node.Aliases is null || node.Aliases.Count == 0))
        {
            if (!_nodes.Remove(node.Id)) return;
            node.Fd?.Dispose();
            if (node.State is { } state && --state.Nodes == 0)
                _directories.Remove(state.Identity);
            var parent = node.Parent;
            if (parent is null || node.Name is null) return;
            if (node.Spelling is not null)
            {
                if (parent.Aliases is not null && parent.Aliases.TryGetValue(node.Spelling, out var a) && ReferenceEquals(a, node))
                    parent.Aliases.Remove(node.Spelling);
            }
            else if (parent.Children is not null && parent.Children.TryGetValue(Key(node.Name), out var c) && ReferenceEquals(c, node))
            {
                parent.Children.Remove(Key(node.Name));
            }
            node = parent;
        }
    }

    /// <summary>The state of the directory <paramref name="st"/> describes, shared with its other nodes (caller holds _tree).</summary>
    private DirectoryState ShareDirectoryState(in Stat.statx_t st)
    {
        var identity = (Stat.makedev(st.stx_dev_major, st.stx_dev_minor), st.stx_ino);
        if (!_directories.TryGetValue(identity, out var state))
            _directories[identity] = state = new DirectoryState(identity, _nextDirectoryOrder++);
        state.Nodes++;
        return state;
    }

    /// <summary>Byte-exact dictionary key of a stored name (Latin-1 maps each byte to one char).</summary>
    private static string Key(ReadOnlySpan<byte> name) => Encoding.Latin1.GetString(name);

    /// <summary>A directory node with a reference on its fd (release with <see cref="Release"/>).</summary>
    private int AcquireDirectory(ulong nodeid, out Node dir)
    {
        lock (_tree)
        {
            if (!_nodes.TryGetValue(nodeid, out dir!)) return Errno.ENOENT;
            if (!dir.IsDirectory || dir.Fd is null) return Errno.ENOTDIR;
            bool added = false;
            dir.Fd.DangerousAddRef(ref added);
            return 0;
        }
    }

    private static void Release(Node dir) => dir.Fd!.DangerousRelease();

    /// <summary>The parent directory (referenced, release it) and stored name of a node that still has a name.</summary>
    private int AcquireParentAndName(ulong nodeid, out Node dir, out byte[] name)
    {
        lock (_tree)
        {
            dir = null!;
            name = null!;
            if (!_nodes.TryGetValue(nodeid, out var node)) return Errno.ENOENT;
            if (node.Parent is null || node.Name is null || node.Parent.Fd is null) return Errno.ENOENT;
            dir = node.Parent;
            name = node.Name;
            bool added = false;
            dir.Fd!.DangerousAddRef(ref added);
            return 0;
        }
    }

    /// <summary>An O_PATH fd of the node itself: its own for a directory, a fresh one (O_NOFOLLOW) otherwise.</summary>
    private int AcquirePath(ulong nodeid, out NodePath path)
    {
        path = default;
        bool symlink;
        lock (_tree)
        {
            if (!_nodes.TryGetValue(nodeid, out var node)) return Errno.ENOENT;
            if (node.Fd is not null)
            {
                bool added = false;
                node.Fd.DangerousAddRef(ref added);
                path = new NodePath(node.Fd.Fd, node.Fd, owned: false, symlink: false);
                return 0;
            }
            symlink = node.IsSymlink;
        }
        int rc = AcquireParentAndName(nodeid, out var dir, out var name);
        if (rc != 0) return rc;
        try
        {
            int fd = OpenAt(dir.Fd!, name, Fcntl.O_PATH | Fcntl.O_NOFOLLOW | Fcntl.O_CLOEXEC, 0);
            if (fd < 0) return LastErrno();
            path = new NodePath(fd, null, owned: true, symlink);
            return 0;
        }
        finally
        {
            Release(dir);
        }
    }

    private int AcquireXattrPath(ulong nodeid, out NodePath path, out bool symlink)
    {
        symlink = false;
        int rc = AcquirePath(nodeid, out path);
        if (rc != 0) return rc;
        Stat.statx_t st;
        rc = StatFd(path.Fd, &st);
        if (rc != 0)
        {
            path.Dispose();
            return rc;
        }
        symlink = (st.stx_mode & Stat.S_IFMT) == Stat.S_IFLNK;
        return 0;
    }

    private int UtimensSymlink(ulong nodeid, Stat.timespec* times)
    {
        int rc = AcquireParentAndName(nodeid, out var dir, out var name);
        if (rc != 0) return rc;
        try
        {
            Span<byte> z = stackalloc byte[name.Length + 1];
            name.CopyTo(z);
            fixed (byte* n = z)
                return Stat.utimensat(dir.Fd!.Fd, n, times, Stat.AT_SYMLINK_NOFOLLOW) == 0 ? 0 : LastErrno();
        }
        finally
        {
            Release(dir);
        }
    }

    private static Stat.timespec Time(uint valid, uint set, uint now, ulong sec, uint nsec)
    {
        if ((valid & now) != 0) return new Stat.timespec { tv_nsec = Stat.UTIME_NOW };
        if ((valid & set) != 0) return new Stat.timespec { tv_sec = (long)sec, tv_nsec = nsec };
        return new Stat.timespec { tv_nsec = Stat.UTIME_OMIT };
    }

    private static int StatAt(SafeFd dir, ReadOnlySpan<byte> name, Stat.statx_t* st)
    {
        Span<byte> z = stackalloc byte[name.Length + 1];
        name.CopyTo(z);
        fixed (byte* n = z)
        {
            return Stat.statx(dir.Fd, n, Stat.AT_SYMLINK_NOFOLLOW | Stat.AT_NO_AUTOMOUNT, Stat.STATX_BASIC_STATS, st) == 0
                ? 0 : LastErrno();
        }
    }

    private static bool IsLink(in Stat.statx_t st) => (st.stx_mode & Stat.S_IFMT) == Stat.S_IFLNK;

    private static int StatFd(int fd, Stat.statx_t* st)
    {
        byte empty = 0;
        return Stat.statx(fd, &empty, Fcntl.AT_EMPTY_PATH | Stat.AT_SYMLINK_NOFOLLOW, Stat.STATX_BASIC_STATS, st) == 0
            ? 0 : LastErrno();
    }

    private static int OpenAt(SafeFd dir, ReadOnlySpan<byte> name, int flags, uint mode)
    {
        Span<byte> z = stackalloc byte[name.Length + 1];
        name.CopyTo(z);
        fixed (byte* n = z)
            return Fcntl.openat(dir.Fd, n, flags, mode);
    }

    private static int RenameAt(SafeFd from, byte[] name, SafeFd to, byte[] newName, uint flags)
    {
        Span<byte> a = stackalloc byte[name.Length + 1];
        Span<byte> b = stackalloc byte[newName.Length + 1];
        name.CopyTo(a);
        newName.CopyTo(b);
        fixed (byte* pa = a)
        fixed (byte* pb = b)
            return StdioAt.renameat2(from.Fd, pa, to.Fd, pb, flags) == 0 ? 0 : LastErrno();
    }

    private void GiveToCaller(int fd, in fuse_in_header header)
    {
        if (!_giveToCaller) return;
        byte empty = 0;
        Unistd.fchownat(fd, &empty, header.uid, header.gid, Fcntl.AT_EMPTY_PATH);
    }

    /// <summary>"/proc/self/fd/N" with its NUL, into <paramref name="buffer"/> (32 bytes).</summary>
    private static void ProcPath(int fd, Span<byte> buffer)
    {
        "/proc/self/fd/"u8.CopyTo(buffer);
        fd.TryFormat(buffer[14..], out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        buffer[14 + written] = 0;
    }

    private static string Printable(ReadOnlySpan<byte> name) =>
        System.Text.Unicode.Utf8.IsValid(name) ? Encoding.UTF8.GetString(name) : Convert.ToHexString(name);

    private static int LastErrno() => Marshal.GetLastPInvokeError();

    /// <summary>Attributes as the backing filesystem reports them (rdev in the kernel's new_encode_dev form).</summary>
    private static void ToAttr(in Stat.statx_t s, out fuse_attr a)
    {
        a = default;
        a.ino = s.stx_ino;
        a.size = s.stx_size;
        a.blocks = s.stx_blocks;
        a.atime = (ulong)s.stx_atime.tv_sec;
        a.atimensec = s.stx_atime.tv_nsec;
        a.mtime = (ulong)s.stx_mtime.tv_sec;
        a.mtimensec = s.stx_mtime.tv_nsec;
        a.ctime = (ulong)s.stx_ctime.tv_sec;
        a.ctimensec = s.stx_ctime.tv_nsec;
        a.mode = s.stx_mode;
        a.nlink = s.stx_nlink;
        a.uid = s.stx_uid;
        a.gid = s.stx_gid;
        uint major = s.stx_rdev_major, minor = s.stx_rdev_minor;
        a.rdev = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
        a.blksize = s.stx_blksize;
    }

    /// <summary>An O_PATH fd of a node: borrowed (a directory's own, referenced) or owned (closed on Dispose).</summary>
    private readonly struct NodePath(int fd, SafeFd? borrowed, bool owned, bool symlink) : IDisposable
    {
        public int Fd { get; } = fd;

        /// <summary>The node was a symlink when it was looked up (a name's type never changes under one node).</summary>
        public bool Symlink { get; } = symlink;

        public void Dispose()
        {
            if (owned) Unistd.close(Fd);
            else borrowed?.DangerousRelease();
        }
    }

    /// <summary>
    /// What every node of one backing directory shares (the stored entry and the alias nodes of its
    /// other spellings): the lock that serializes changes of its entries, and its index. The object
    /// itself is the lock; <see cref="Order"/> orders two of them for a rename.
    /// </summary>
    private sealed class DirectoryState((ulong Dev, ulong Ino) identity, long order)
    {
        public readonly (ulong Dev, ulong Ino) Identity = identity;
        public readonly long Order = order;
        public int Nodes;                 // _tree
        public FoldIndex? Index;          // this
        public HashSet<string>? Reported; // this
    }

    private sealed class Node(ulong id, bool isDirectory)
    {
        public readonly ulong Id = id;
        public readonly bool IsDirectory = isDirectory;
        /// <summary>Serializes changes to this directory's entries with its index.</summary>
        public object Entries => State!;
        public DirectoryState? State;                   // directories: shared by every node of the directory; set once
        public SafeFd? Fd;                              // directories: O_PATH fd; set once
        public Node? Parent;                            // _tree
        public byte[]? Name;                            // _tree; null once unlinked
        public long Lookups;                            // _tree
        public Dictionary<string, Node>? Children;      // _tree: remembered children by stored name
        public Dictionary<string, Node>? Aliases;       // _tree: alias nodes by the other spelling they were looked up with
        public string? Spelling;                        // set once: the spelling of an alias node
        public bool IsSymlink;                          // set once
        public FoldIndex? Index { get => State!.Index; set => State!.Index = value; }
        public HashSet<string>? ReportedAmbiguities { get => State!.Reported; set => State!.Reported = value; }
    }
}
