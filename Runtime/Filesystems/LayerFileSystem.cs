using System.Text;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// Serves one read-only layer over FUSE as it is stored, whiteouts and opacity markers shown: one
/// handler per opcode, in the manner of libfuse's <c>passthrough_ll.c</c>. This is the view
/// `fim-layer mount` gives of one layer; a run serves its whole stack through
/// <see cref="MergedFileSystem"/>, which applies those markers instead of showing them.
///
/// Overview. FUSE node ids are the layer's inode numbers: the root is inode 1, which is also
/// FUSE_ROOT_ID, and hard links share one inode, so they share one kernel inode and one st_ino.
/// The layer never changes, so no handler keeps state per node or per open file: lookups need no
/// reference counts (Forget has nothing to drop), opens are zero-message (ENOSYS, see
/// <see cref="Open"/>), and the kernel may cache entries, attributes, missing names and pages for
/// as long as the session's timeouts allow. What the reader does not index directly is computed
/// once in the constructor and immutable afterwards, so every handler is a lock-free read:
/// the parent of each directory (for ".."), and the extended attributes, including the overlayfs
/// opacity markers of opaque directories. Handlers run on several worker threads at once, never
/// throw (the reader returns errnos; corrupt blocks are EIO) and allocate nothing.
///
/// Overlay conventions (how an upper layer hides lower files when the overlay stacks the mounts):
/// a whiteout is a char device 0/0 with mode 0 (kernel overlayfs and fuse-overlayfs both read
/// that); an opaque directory carries <c>trusted.overlay.opaque=y</c> (kernel overlayfs as root),
/// <c>user.overlay.opaque=y</c> (kernel overlayfs with <c>userxattr</c>, i.e. in a user namespace,
/// and fuse-overlayfs) and <c>user.fuseoverlayfs.opaque=y</c> (fuse-overlayfs's own name; 1.10 reads
/// all three, in that order).
/// </summary>
public sealed class LayerFileSystem : IFuseFileSystem
{
    // The readdir cookie of an entry is the cookie to continue *after* it: "." = 1, ".." = 2,
    // the i-th stored entry = i + 3. Cookie 0 starts at ".".
    private const ulong FirstStoredCookie = 2;

    private static ReadOnlySpan<byte> Yes => "y"u8;
    private static readonly byte[][] OpaqueXattrNames =
    [
        "trusted.overlay.opaque"u8.ToArray(),
        "user.overlay.opaque"u8.ToArray(),
        "user.fuseoverlayfs.opaque"u8.ToArray(),
    ];

    private readonly LayerReader _reader;
    private readonly uint? _uid, _gid;
    private readonly bool _verifyOnOpen;
    private readonly uint[] _parents;                        // directory inode -> parent inode; immutable
    private readonly Dictionary<ulong, XattrSet> _xattrs;    // inodes that have any; read-only after construction
    private readonly fuse_kstatfs _statfs;

    // Per-thread scratch for ReadDirectory's visitor: FuseReply is a ref struct and cannot be
    // captured by the visitor delegate, so readdir takes one entry at a time into this and adds it
    // to the reply itself. One per worker thread, allocated on its first readdir; not shared state.
    [ThreadStatic] private static DirectoryEntryCursor? t_cursor;

    /// <summary>
    /// Serves <paramref name="reader"/> (which the caller keeps and disposes after the session).
    /// Reads the directory tree and the xattr table once: O(inodes), no data blocks.
    /// </summary>
    public LayerFileSystem(LayerReader reader, LayerFileSystemOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        options ??= LayerFileSystemOptions.RealOwners;
        _reader = reader;
        _uid = options.OwnerUid;
        _gid = options.OwnerGid;
        _verifyOnOpen = options.VerifyOnOpen;
        if (!reader.TryGetInode(LayerReader.RootInode, out var root) || root.Type != LayerFileType.Directory)
            throw new ArgumentException("the layer has no root directory", nameof(reader));
        if (LayerReader.RootInode != FuseKernel.FUSE_ROOT_ID)
            throw new InvalidOperationException("layer inode numbers must coincide with FUSE node ids at the root");

        _parents = new uint[reader.InodeCount + 1];
        _xattrs = new Dictionary<ulong, XattrSet>();
        _parents[LayerReader.RootInode] = (uint)LayerReader.RootInode; // the root's ".." is itself, as on any filesystem
        var pending = new Stack<ulong>();
        pending.Push(LayerReader.RootInode);
        var opaque = new List<ulong>();
        if (root.Opaque) opaque.Add(LayerReader.RootInode);
        while (pending.Count > 0)
        {
            ulong dir = pending.Pop();
            reader.ReadDirectory(dir, 0, (long _, ReadOnlySpan<byte> _, ulong child, in LayerInode inode) =>
            {
                if (inode.Type == LayerFileType.Directory)
                {
                    _parents[child] = (uint)dir;
                    pending.Push(child);
                    if (inode.Opaque) opaque.Add(child);
                }
                return true;
            });
        }
        for (ulong ino = 1; ino <= reader.InodeCount; ino++)
        {
            if (reader.ListXattr(ino, out var list) == 0 && list.Count > 0)
                _xattrs[ino] = new XattrSet(list.Select(kv => (Encoding.UTF8.GetBytes(kv.Key), kv.Value)));
        }
        foreach (ulong dir in opaque)
        {
            var recorded = _xattrs.TryGetValue(dir, out var set) ? set.Pairs : [];
            _xattrs[dir] = new XattrSet(recorded.Concat(OpaqueXattrNames
                .Where(n => !recorded.Any(r => r.Name.AsSpan().SequenceEqual(n)))
                .Select(n => (n, Yes.ToArray()))));
        }

        var stats = reader.Statistics;
        _statfs = new fuse_kstatfs
        {
            // The layer's bytes on disk, in 4 KiB units, all in use: a read-only filesystem has no
            // free blocks or inodes (as squashfs reports).
            blocks = (ulong)((stats.LayerBytes + 4095) / 4096),
            files = stats.Inodes,
            bsize = 4096,
            frsize = 4096,
            namelen = 255,
        };
    }

    /// <summary>The layer being served.</summary>
    public LayerReader Reader => _reader;

    /// <summary>Nothing to negotiate: every feature the session asks for suits immutable data. Valid replies: none.</summary>
    public void Init(FuseConnectionInfo connection) { }

    /// <summary>Nothing to release: the owner disposes the reader after the session. Valid replies: none.</summary>
    public void Destroy() { }

    /// <summary>
    /// Binary search in the parent's sorted entries. A missing name is answered with a negative
    /// entry, cached by the kernel for the session's negative timeout: the layer cannot gain that
    /// name later, so library search paths probing dozens of directories ask us once.
    /// Valid replies: entry, negative entry, ENOTDIR, ENAMETOOLONG, ENOENT (unknown parent), EIO.
    /// </summary>
    public int Lookup(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        if (name.Length > 255) return Errno.ENAMETOOLONG;
        int errno = _reader.Lookup(header.nodeid, name, out ulong ino);
        if (errno == Errno.ENOENT && _reader.TryGetInode(header.nodeid, out _))
        {
            reply.NegativeEntry();
            return 0;
        }
        if (errno != 0) return errno;
        if (!_reader.TryGetInode(ino, out var inode)) return Errno.EIO;
        Attr(in inode, out var attr);
        reply.Entry(ino, in attr);
        return 0;
    }

    /// <summary>
    /// Nothing to do: node ids are inode numbers that stay valid for the layer's lifetime, and no
    /// handler keeps anything per node, so there is no count to drop. Valid replies: none.
    /// </summary>
    public void Forget(ulong nodeid, ulong nlookup) { }

    /// <summary>Valid replies: attr, ENOENT.</summary>
    public int GetAttr(in fuse_in_header header, in fuse_getattr_in arg, ref FuseReply reply)
    {
        if (!_reader.TryGetInode(header.nodeid, out var inode)) return Errno.ENOENT;
        Attr(in inode, out var attr);
        reply.Attr(in attr);
        return 0;
    }

    /// <summary>The target is a slice of the in-memory metadata. Valid replies: readlink, ENOENT, EINVAL (not a symlink).</summary>
    public int ReadLink(in fuse_in_header header, ref FuseReply reply)
    {
        int errno = _reader.ReadLink(header.nodeid, out var target);
        if (errno != 0) return errno;
        reply.ReadLink(target.Span);
        return 0;
    }

    /// <summary>
    /// Zero-message open. ENOSYS here, with FUSE_NO_OPEN_SUPPORT negotiated (FuseSession asks for it),
    /// tells the kernel that opens are stateless: it sends no more OPEN or RELEASE for files, keeps
    /// their page cache across opens as FOPEN_KEEP_CACHE would, and passes fh 0 to Read. Writes never
    /// reach us: the mount is read-only (MS_RDONLY) and the kernel refuses them with EROFS itself.
    /// On a kernel without the flag (before 3.x), ENOSYS would fail the open, but the session
    /// requires protocol 7.12+ and every kernel that offers FUSE_NO_OPEN_SUPPORT (7.23+) honours it.
    /// With <see cref="LayerFileSystemOptions.VerifyOnOpen"/>, an open checks the file's blocks first
    /// and keeps the page cache instead (see there).
    /// Valid replies: ENOSYS, open, ENOENT, EIO.
    /// </summary>
    public int Open(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply)
    {
        if (!_verifyOnOpen) return Errno.ENOSYS;
        int errno = _reader.VerifyFile(header.nodeid);
        if (errno != 0) return errno;
        reply.Open(0, FuseKernel.FOPEN_KEEP_CACHE);
        return 0;
    }

    /// <summary>
    /// Reads straight into the reply buffer (zero copy from the block cache to the kernel). A
    /// short reply is end of file. Valid replies: data, EISDIR, EINVAL, ENOENT, EIO (corrupt block).
    /// </summary>
    public int Read(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply)
    {
        if (arg.offset > long.MaxValue) return Errno.EINVAL;
        var buffer = reply.DataBuffer();
        int errno = _reader.Read(header.nodeid, (long)arg.offset, buffer, out int read);
        if (errno != 0) return errno;
        reply.CommitData(read);
        return 0;
    }

    /// <summary>Never sent after the zero-message open; nothing to release. Valid replies: empty.</summary>
    public int Release(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply) => 0;

    /// <summary>
    /// Zero-message opendir: ENOSYS with FUSE_NO_OPENDIR_SUPPORT means no more OPENDIR/RELEASEDIR, and
    /// the kernel caches listings as with FOPEN_CACHE_DIR (the data never changes). Valid replies: ENOSYS.
    /// </summary>
    public int OpenDir(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>
    /// Lists "." and ".." and then the stored entries, as libfuse's passthrough_ll does (the layer
    /// does not store the dot entries; readdir(3) users such as `ls -a` and `find` expect them).
    /// Cookies: see <see cref="FirstStoredCookie"/>. Valid replies: dirents, empty (end), ENOENT, ENOTDIR.
    /// </summary>
    public int ReadDir(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply)
    {
        ulong dir = header.nodeid;
        if (!_reader.TryGetInode(dir, out var self)) return Errno.ENOENT;
        if (self.Type != LayerFileType.Directory) return Errno.ENOTDIR;
        ulong cookie = arg.offset;
        if (cookie == 0)
        {
            if (!reply.AddDirent(dir, 1, Stat.S_IFDIR >> 12, "."u8)) return 0;
            cookie = 1;
        }
        if (cookie == 1)
        {
            if (!reply.AddDirent(_parents[dir], 2, Stat.S_IFDIR >> 12, ".."u8)) return 0;
            cookie = 2;
        }
        var cursor = t_cursor ??= new DirectoryEntryCursor();
        for (ulong index = cookie - FirstStoredCookie; ; index++)
        {
            if (!cursor.Take(_reader, dir, index)) return 0;
            if (!reply.AddDirent(cursor.Ino, index + FirstStoredCookie + 1, (cursor.Inode.Mode & Stat.S_IFMT) >> 12, cursor.Name))
                return 0;
        }
    }

    /// <summary>
    /// As <see cref="ReadDir"/>, with each entry's attributes: `ls -l`, `find` and start-up metadata
    /// walks then need no LOOKUP per entry. The kernel takes no reference for "." and "..".
    /// Valid replies: dirents, empty (end), ENOENT, ENOTDIR.
    /// </summary>
    public int ReadDirPlus(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply)
    {
        ulong dir = header.nodeid;
        if (!_reader.TryGetInode(dir, out var self)) return Errno.ENOENT;
        if (self.Type != LayerFileType.Directory) return Errno.ENOTDIR;
        ulong cookie = arg.offset;
        fuse_attr attr;
        if (cookie == 0)
        {
            Attr(in self, out attr);
            if (!reply.AddDirentPlus(dir, in attr, 1, "."u8)) return 0;
            cookie = 1;
        }
        if (cookie == 1)
        {
            ulong parent = _parents[dir];
            if (!_reader.TryGetInode(parent, out var up)) return Errno.EIO;
            Attr(in up, out attr);
            if (!reply.AddDirentPlus(parent, in attr, 2, ".."u8)) return 0;
            cookie = 2;
        }
        var cursor = t_cursor ??= new DirectoryEntryCursor();
        for (ulong index = cookie - FirstStoredCookie; ; index++)
        {
            if (!cursor.Take(_reader, dir, index)) return 0;
            Attr(in cursor.Inode, out attr);
            if (!reply.AddDirentPlus(cursor.Ino, in attr, index + FirstStoredCookie + 1, cursor.Name))
                return 0;
        }
    }

    /// <summary>Never sent after the zero-message opendir. Valid replies: empty.</summary>
    public int ReleaseDir(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply) => 0;

    /// <summary>From the layer's statistics, computed once. Valid replies: statfs.</summary>
    public int StatFs(in fuse_in_header header, ref FuseReply reply)
    {
        reply.StatFs(in _statfs);
        return 0;
    }

    /// <summary>
    /// Recorded xattrs (security.capability, user.*, ...) and the opacity markers. trusted.* is
    /// answered to anyone who asks: the kernel itself refuses it to callers without CAP_SYS_ADMIN
    /// before the request reaches us (xattr_permission in fs/xattr.c).
    /// Valid replies: xattr (size probe, value, ERANGE), ENODATA, ENOENT.
    /// </summary>
    public int GetXattr(in fuse_in_header header, in fuse_getxattr_in arg, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        if (!_xattrs.TryGetValue(header.nodeid, out var set))
            return _reader.TryGetInode(header.nodeid, out _) ? Errno.ENODATA : Errno.ENOENT;
        foreach (var (n, v) in set.Pairs)
        {
            if (name.SequenceEqual(n))
            {
                reply.Xattr(v);
                return 0;
            }
        }
        return Errno.ENODATA;
    }

    /// <summary>
    /// The names, NUL-terminated, back to back. trusted.* names are listed to uid 0 only, as ext4
    /// does for callers without CAP_SYS_ADMIN (ext4_xattr_trusted_list): others could not read them.
    /// Valid replies: xattr (size probe, list, ERANGE), empty list, ENOENT.
    /// </summary>
    public int ListXattr(in fuse_in_header header, in fuse_getxattr_in arg, ref FuseReply reply)
    {
        if (!_xattrs.TryGetValue(header.nodeid, out var set))
        {
            if (!_reader.TryGetInode(header.nodeid, out _)) return Errno.ENOENT;
            reply.Xattr([]);
            return 0;
        }
        reply.Xattr(header.uid == 0 ? set.List : set.UnprivilegedList);
        return 0;
    }

    /// <summary>
    /// Only reached without default_permissions (our mounts set it, so the kernel checks the mode
    /// bits itself and never sends ACCESS). Read-only: write access is EROFS, the rest is allowed
    /// (mode checks are the kernel's). Valid replies: empty, EROFS, ENOENT.
    /// </summary>
    public int Access(in fuse_in_header header, in fuse_access_in arg, ref FuseReply reply)
    {
        const uint W_OK = 2;
        if (!_reader.TryGetInode(header.nodeid, out _)) return Errno.ENOENT;
        return (arg.mask & W_OK) != 0 ? Errno.EROFS : 0;
    }

    /// <summary>The attributes of an inode as the kernel wants them (<see cref="LayerAttributes.Fill"/>).</summary>
    private void Attr(in LayerInode n, out fuse_attr a) => LayerAttributes.Fill(in n, n.Ino, _uid, _gid, out a);

    /// <summary>An inode's xattrs with both listings precomputed.</summary>
    private sealed class XattrSet
    {
        public XattrSet(IEnumerable<(byte[] Name, byte[] Value)> pairs)
        {
            Pairs = pairs.ToArray();
            List = Join(Pairs.Select(p => p.Name));
            UnprivilegedList = Join(Pairs.Select(p => p.Name).Where(n => !n.AsSpan().StartsWith("trusted."u8)));
        }

        public (byte[] Name, byte[] Value)[] Pairs { get; }
        public byte[] List { get; }
        public byte[] UnprivilegedList { get; }

        private static byte[] Join(IEnumerable<byte[]> names) => names.SelectMany(n => n.Append((byte)0)).ToArray();
    }
}
