using System.Collections.Concurrent;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// Serves a whole stack of read-only layers as one tree over FUSE, with the overlay rules applied:
/// a name in a higher layer hides the same name below; a whiteout hides it and is itself not
/// shown; a directory merges with the directories of the same path below it until one of them
/// is opaque or a lower layer has a non-directory there. One mount, one FUSE hop for every read,
/// whatever the number of layers; the writable overlay (bwrap's kernel overlay, fuse-overlayfs or
/// unionfs-fuse) stacks on this one directory.
///
/// Overview. Node ids are stable: layers get consecutive ranges of ids, top layer first, and an
/// entry's id is its layer's base plus its inode number in that layer, so the top layer's root
/// is FUSE_ROOT_ID, the same stack numbers its files the same way in every run, and hard links in
/// a layer share one id (one kernel inode, one st_ino). A file is served from the layer that wins
/// its path; a merged directory is identified by its topmost layer's directory and carries the
/// list of layer directories it merges ("providers", top first), computed when the kernel first
/// learns its id (LOOKUP, or READDIRPLUS of its parent) and kept for the mount's lifetime in
/// <c>_directories</c> (one small record per directory reached). A directory with one provider —
/// every directory when there is one layer — is listed straight from its layer, whiteouts
/// skipped; one with several gets its merged, sorted listing built once on first READDIR. All of
/// this state is created once and then only read, so handlers take no lock: two workers that
/// build the same record at once build equal ones and one of them is kept.
///
/// Like <see cref="LayerFileSystem"/>, the data never changes, so the kernel may cache entries,
/// attributes, missing names, listings and pages for the session's (long) timeouts, and opens are
/// zero-message unless <see cref="LayerFileSystemOptions.VerifyOnOpen"/> asks otherwise. Overlay
/// bookkeeping (whiteouts, opacity markers) is applied here and never shown: nothing above this
/// mount can mistake it for content, or copy an opacity marker up into the writable layer.
/// Handlers never throw; corrupt data is EIO.
/// </summary>
public sealed class MergedFileSystem : IFuseFileSystem
{
    // The readdir cookie of an entry is the cookie to continue after it: "." = 1, ".." = 2, the
    // entry at index i (of the layer's directory, or of the merged listing) = i + 3.
    private const ulong FirstStoredCookie = 2;

    private readonly LayerReader[] _layers;       // top first
    private readonly ulong[] _base;               // node id of each layer's inode n is _base[layer] + n; ascending
    private readonly uint? _uid, _gid;
    private readonly bool _verifyOnOpen;
    private readonly ConcurrentDictionary<ulong, MergedDirectory> _directories = new();
    private readonly fuse_kstatfs _statfs;
    private readonly StartProfileRecorder? _recorder; // FIM_PROFILE=1 only

    // Per-thread scratch for single-provider listings (see LayerFileSystem's t_cursor).
    [ThreadStatic] private static DirectoryEntryCursor? t_cursor;

    /// <summary>
    /// Serves <paramref name="bottomFirst"/> (docs/cli.md §13.1 order; the caller keeps the readers and
    /// disposes them after the session). O(layers) work: directories are resolved on demand.
    /// <paramref name="recorder"/>, when given, is told every name handed to the kernel and every
    /// file read (a run recording its start profile).
    /// </summary>
    public MergedFileSystem(IReadOnlyList<LayerReader> bottomFirst, LayerFileSystemOptions? options = null, StartProfileRecorder? recorder = null)
    {
        _recorder = recorder;
        ArgumentNullException.ThrowIfNull(bottomFirst);
        if (bottomFirst.Count == 0)
            throw new ArgumentException("a merged view needs at least one layer", nameof(bottomFirst));
        options ??= LayerFileSystemOptions.RealOwners;
        _uid = options.OwnerUid;
        _gid = options.OwnerGid;
        _verifyOnOpen = options.VerifyOnOpen;
        _layers = bottomFirst.Reverse().ToArray();
        _base = new ulong[_layers.Length];
        for (int i = 1; i < _layers.Length; i++)
            _base[i] = _base[i - 1] + _layers[i - 1].InodeCount;

        // The root merges every layer's root, top down, until an opaque one.
        var roots = new List<Provider>();
        for (int i = 0; i < _layers.Length; i++)
        {
            if (!_layers[i].TryGetInode(LayerReader.RootInode, out var root) || root.Type != LayerFileType.Directory)
                throw new ArgumentException($"layer {_layers.Length - 1 - i} has no root directory", nameof(bottomFirst));
            roots.Add(new Provider(i, LayerReader.RootInode));
            if (root.Opaque) break;
        }
        // The root's ".." is itself, as on any filesystem.
        _directories[FuseKernel.FUSE_ROOT_ID] = new MergedDirectory(FuseKernel.FUSE_ROOT_ID, FuseKernel.FUSE_ROOT_ID, [.. roots]);

        long bytes = _layers.Sum(l => l.Statistics.LayerBytes);
        _statfs = new fuse_kstatfs
        {
            // The layers' bytes on disk in 4 KiB units, all in use; no free blocks or inodes (read-only).
            blocks = (ulong)((bytes + 4095) / 4096),
            files = _base[^1] + _layers[^1].InodeCount,
            bsize = 4096,
            frsize = 4096,
            namelen = 255,
        };
    }

    /// <summary>How many layers are merged.</summary>
    public int LayerCount => _layers.Length;

    /// <summary>Nothing to negotiate. Valid replies: none.</summary>
    public void Init(FuseConnectionInfo connection) { }

    /// <summary>Nothing to release: the owner disposes the readers after the session. Valid replies: none.</summary>
    public void Destroy() { }

    /// <summary>
    /// Asks the directory's providers top down: the first that has the name decides (a whiteout
    /// answers "missing"). A missing name gets a negative entry, cached by the kernel: the stack
    /// cannot gain it later. Valid replies: entry, negative entry, ENOENT (unknown parent),
    /// ENOTDIR, ENAMETOOLONG, EIO.
    /// </summary>
    public int Lookup(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        if (name.Length > LayerFormat.MaxNameLength) return Errno.ENAMETOOLONG;
        if (!_directories.TryGetValue(header.nodeid, out var dir)) return NotADirectory(header.nodeid);
        var providers = dir.Providers;
        for (int k = 0; k < providers.Length; k++)
        {
            var p = providers[k];
            var layer = _layers[p.Layer];
            int errno = layer.Lookup(p.Ino, name, out ulong child);
            if (errno == Errno.ENOENT) continue;
            if (errno != 0) return errno;
            if (!layer.TryGetInode(child, out var inode)) return Errno.EIO;
            if (inode.Type == LayerFileType.Whiteout) break;
            ulong node = NodeOf(p.Layer, child);
            if (inode.Type == LayerFileType.Directory && !_directories.ContainsKey(node))
                _directories.TryAdd(node, new MergedDirectory(node, dir.Node, ChildProviders(providers, k, child, inode.Opaque, name)));
            _recorder?.Named(node, header.nodeid, name);
            LayerAttributes.Fill(in inode, node, _uid, _gid, out var attr);
            reply.Entry(node, in attr);
            return 0;
        }
        reply.NegativeEntry();
        return 0;
    }

    /// <summary>Nothing to drop: node ids stay valid for the mount's lifetime. Valid replies: none.</summary>
    public void Forget(ulong nodeid, ulong nlookup) { }

    /// <summary>Valid replies: attr, ENOENT.</summary>
    public int GetAttr(in fuse_in_header header, in fuse_getattr_in arg, ref FuseReply reply)
    {
        if (!TryGetInode(header.nodeid, out _, out var inode)) return Errno.ENOENT;
        LayerAttributes.Fill(in inode, header.nodeid, _uid, _gid, out var attr);
        reply.Attr(in attr);
        return 0;
    }

    /// <summary>Valid replies: readlink, ENOENT, EINVAL (not a symlink).</summary>
    public int ReadLink(in fuse_in_header header, ref FuseReply reply)
    {
        if (!Decode(header.nodeid, out int layer, out ulong ino)) return Errno.ENOENT;
        int errno = _layers[layer].ReadLink(ino, out var target);
        if (errno != 0) return errno;
        reply.ReadLink(target.Span);
        return 0;
    }

    /// <summary>
    /// Zero-message open (ENOSYS with FUSE_NO_OPEN_SUPPORT, see <see cref="LayerFileSystem.Open"/>),
    /// or, with <see cref="LayerFileSystemOptions.VerifyOnOpen"/>, an open that first checks the
    /// file's blocks (see there for why a FUSE overlay daemon needs it) and keeps the page cache.
    /// Valid replies: open, ENOSYS, ENOENT, EIO (a damaged block).
    /// </summary>
    public int Open(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply)
    {
        if (!_verifyOnOpen) return Errno.ENOSYS;
        if (!Decode(header.nodeid, out int layer, out ulong ino)) return Errno.ENOENT;
        int errno = _layers[layer].VerifyFile(ino);
        if (errno != 0) return errno;
        reply.Open(0, FuseKernel.FOPEN_KEEP_CACHE);
        return 0;
    }

    /// <summary>
    /// From the layer that wins the file's path, straight into the reply buffer. A request that
    /// touches a corrupt block fails whole (EIO), never with the bytes before it.
    /// Valid replies: data, EISDIR, EINVAL, ENOENT, EIO.
    /// </summary>
    public int Read(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply)
    {
        if (arg.offset > long.MaxValue) return Errno.EINVAL;
        if (!Decode(header.nodeid, out int layer, out ulong ino)) return Errno.ENOENT;
        var buffer = reply.DataBuffer();
        int errno = _layers[layer].Read(ino, (long)arg.offset, buffer, out int read);
        if (errno != 0) return errno;
        _recorder?.Read(header.nodeid);
        reply.CommitData(read);
        return 0;
    }

    /// <summary>Nothing to release (no per-open state). Valid replies: empty.</summary>
    public int Release(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply) => 0;

    /// <summary>Zero-message opendir: the kernel caches listings (see <see cref="LayerFileSystem.OpenDir"/>). Valid replies: ENOSYS.</summary>
    public int OpenDir(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>"." and "..", then the merged entries in name order. Valid replies: dirents, empty (end), ENOENT, ENOTDIR.</summary>
    public int ReadDir(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply) => List(header.nodeid, arg.offset, plus: false, ref reply);

    /// <summary>
    /// As <see cref="ReadDir"/>, with attributes; each entry's directory record exists before the
    /// kernel gets its id (it may list it next without a LOOKUP). Valid replies: dirents, empty, ENOENT, ENOTDIR.
    /// </summary>
    public int ReadDirPlus(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply) => List(header.nodeid, arg.offset, plus: true, ref reply);

    /// <summary>Never sent after the zero-message opendir. Valid replies: empty.</summary>
    public int ReleaseDir(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply) => 0;

    /// <summary>The layers' sizes and inode counts together. Valid replies: statfs.</summary>
    public int StatFs(in fuse_in_header header, ref FuseReply reply)
    {
        reply.StatFs(in _statfs);
        return 0;
    }

    /// <summary>
    /// The attributes the winning layer recorded (security.capability, user.*, ...), without
    /// allocating. Overlay bookkeeping names are never answered: the merge already applied them.
    /// trusted.* is answered to anyone who asks (the kernel refuses it to unprivileged callers first).
    /// Valid replies: xattr (size probe, value, ERANGE), ENODATA, ENOENT.
    /// </summary>
    public int GetXattr(in fuse_in_header header, in fuse_getxattr_in arg, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        if (!Decode(header.nodeid, out int layer, out ulong ino)) return Errno.ENOENT;
        if (IsOverlayBookkeeping(name)) return _layers[layer].TryGetInode(ino, out _) ? Errno.ENODATA : Errno.ENOENT;
        int errno = _layers[layer].FindXattr(ino, name, out var value);
        if (errno != 0) return errno;
        reply.Xattr(value.Span);
        return 0;
    }

    /// <summary>
    /// The recorded names, NUL-terminated, without overlay bookkeeping; trusted.* only to uid 0
    /// (as ext4 lists them). Valid replies: xattr (size probe, list, ERANGE), empty list, ENOENT.
    /// </summary>
    public int ListXattr(in fuse_in_header header, in fuse_getxattr_in arg, ref FuseReply reply)
    {
        if (!Decode(header.nodeid, out int layer, out ulong ino)) return Errno.ENOENT;
        int errno = _layers[layer].ListXattr(ino, out var xattrs);
        if (errno != 0) return errno;
        if (xattrs.Count == 0)
        {
            reply.Xattr([]);
            return 0;
        }
        var list = new List<byte>();
        foreach (var (key, _) in xattrs)
        {
            byte[] n = System.Text.Encoding.UTF8.GetBytes(key);
            if (IsOverlayBookkeeping(n) || (header.uid != 0 && n.AsSpan().StartsWith("trusted."u8))) continue;
            list.AddRange(n);
            list.Add(0);
        }
        reply.Xattr(list.ToArray());
        return 0;
    }

    /// <summary>
    /// Only reached without default_permissions (our mounts set it). Write access is EROFS, the
    /// rest allowed. Valid replies: empty, EROFS, ENOENT.
    /// </summary>
    public int Access(in fuse_in_header header, in fuse_access_in arg, ref FuseReply reply)
    {
        const uint W_OK = 2;
        if (!TryGetInode(header.nodeid, out _, out _)) return Errno.ENOENT;
        return (arg.mask & W_OK) != 0 ? Errno.EROFS : 0;
    }

    /// <summary>
    /// The names overlayfs, fuse-overlayfs and unionfs-fuse keep their own state in. A commit of a
    /// kernel overlay may record <c>user.overlay.*</c> or <c>trusted.overlay.*</c> on a file; shown
    /// here, an overlay stacked on this mount would read them as its own (an opaque or redirected
    /// directory), and fuse-overlayfs would copy them up with the file.
    /// </summary>
    private static bool IsOverlayBookkeeping(ReadOnlySpan<byte> name) =>
        name.StartsWith("trusted.overlay."u8) || name.StartsWith("user.overlay."u8) || name.StartsWith("user.fuseoverlayfs."u8);

    private ulong NodeOf(int layer, ulong ino) => _base[layer] + ino;

    /// <summary>The layer and inode behind a node id; false for ids no layer has.</summary>
    private bool Decode(ulong node, out int layer, out ulong ino)
    {
        // The largest layer whose base is below node: bases ascend, top layer first.
        int lo = 0, hi = _base.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (_base[mid] < node) lo = mid;
            else hi = mid - 1;
        }
        layer = lo;
        ino = node - _base[lo];
        return node > _base[lo] && ino <= _layers[lo].InodeCount;
    }

    private bool TryGetInode(ulong node, out int layer, out LayerInode inode)
    {
        inode = default;
        return Decode(node, out layer, out ulong ino) && _layers[layer].TryGetInode(ino, out inode);
    }

    /// <summary>ENOTDIR for a node that exists but is no directory we serve, ENOENT for anything else.</summary>
    private int NotADirectory(ulong node) =>
        TryGetInode(node, out _, out var inode) && inode.Type != LayerFileType.Directory ? Errno.ENOTDIR : Errno.ENOENT;

    /// <summary>
    /// The providers of the directory <paramref name="name"/> found as <paramref name="ino"/> in the
    /// <paramref name="k"/>-th provider of its parent: that one, then the same name in each lower
    /// provider of the parent while it is a directory, up to and including an opaque one. A lower
    /// non-directory (whiteouts included) ends the merge: it and everything below it are hidden.
    /// </summary>
    private Provider[] ChildProviders(Provider[] parent, int k, ulong ino, bool opaque, ReadOnlySpan<byte> name)
    {
        if (opaque || k == parent.Length - 1)
            return [new Provider(parent[k].Layer, ino)];
        var list = new List<Provider> { new(parent[k].Layer, ino) };
        for (int j = k + 1; j < parent.Length; j++)
        {
            var q = parent[j];
            var layer = _layers[q.Layer];
            if (layer.Lookup(q.Ino, name, out ulong child) != 0) continue;
            if (!layer.TryGetInode(child, out var inode) || inode.Type != LayerFileType.Directory) break;
            list.Add(new Provider(q.Layer, child));
            if (inode.Opaque) break;
        }
        return [.. list];
    }

    private int List(ulong node, ulong cookie, bool plus, ref FuseReply reply)
    {
        if (!_directories.TryGetValue(node, out var dir)) return NotADirectory(node);
        fuse_attr attr;
        if (cookie == 0)
        {
            if (plus)
            {
                if (!TryGetInode(node, out _, out var self)) return Errno.EIO;
                LayerAttributes.Fill(in self, node, _uid, _gid, out attr);
                if (!reply.AddDirentPlus(node, in attr, 1, "."u8)) return 0;
            }
            else if (!reply.AddDirent(node, 1, Stat.S_IFDIR >> 12, "."u8)) return 0;
            cookie = 1;
        }
        if (cookie == 1)
        {
            if (plus)
            {
                if (!TryGetInode(dir.Parent, out _, out var up)) return Errno.EIO;
                LayerAttributes.Fill(in up, dir.Parent, _uid, _gid, out attr);
                if (!reply.AddDirentPlus(dir.Parent, in attr, 2, ".."u8)) return 0;
            }
            else if (!reply.AddDirent(dir.Parent, 2, Stat.S_IFDIR >> 12, ".."u8)) return 0;
            cookie = 2;
        }
        if (cookie - FirstStoredCookie > int.MaxValue) return 0;
        return dir.Providers.Length == 1
            ? ListOneLayer(dir, (long)(cookie - FirstStoredCookie), plus, ref reply)
            : ListMerged(dir, (int)(cookie - FirstStoredCookie), plus, ref reply);
    }

    /// <summary>A directory only one layer provides: its entries as stored, whiteouts left out.</summary>
    private int ListOneLayer(MergedDirectory dir, long index, bool plus, ref FuseReply reply)
    {
        var p = dir.Providers[0];
        var layer = _layers[p.Layer];
        var cursor = t_cursor ??= new DirectoryEntryCursor();
        for (; ; index++)
        {
            if (!cursor.Take(layer, p.Ino, (ulong)index)) return 0;
            ref readonly var inode = ref cursor.Inode;
            if (inode.Type == LayerFileType.Whiteout) continue;
            ulong child = NodeOf(p.Layer, cursor.Ino);
            ulong next = (ulong)index + FirstStoredCookie + 1;
            if (plus)
            {
                // Below a one-layer directory, every directory is a one-layer directory.
                if (inode.Type == LayerFileType.Directory && !_directories.ContainsKey(child))
                    _directories.TryAdd(child, new MergedDirectory(child, dir.Node, [new Provider(p.Layer, cursor.Ino)]));
                _recorder?.Named(child, dir.Node, cursor.Name);
                LayerAttributes.Fill(in inode, child, _uid, _gid, out var attr);
                if (!reply.AddDirentPlus(child, in attr, next, cursor.Name)) return 0;
            }
            else if (!reply.AddDirent(child, next, (inode.Mode & Stat.S_IFMT) >> 12, cursor.Name)) return 0;
        }
    }

    private int ListMerged(MergedDirectory dir, int index, bool plus, ref FuseReply reply)
    {
        var entries = Volatile.Read(ref dir.Listing) ?? BuildListing(dir);
        for (; index < entries.Length; index++)
        {
            var e = entries[index];
            ulong next = (ulong)index + FirstStoredCookie + 1;
            if (plus)
            {
                if (!_layers[e.Layer].TryGetInode(e.Ino, out var inode)) return Errno.EIO;
                _recorder?.Named(e.Node, dir.Node, e.Name);
                LayerAttributes.Fill(in inode, e.Node, _uid, _gid, out var attr);
                if (!reply.AddDirentPlus(e.Node, in attr, next, e.Name)) return 0;
            }
            else if (!reply.AddDirent(e.Node, next, e.Type, e.Name)) return 0;
        }
        return 0;
    }

    /// <summary>
    /// Merges the providers' listings, top first: the first layer that has a name decides it
    /// (a whiteout hides it), and a directory takes on the lower directories of its name as
    /// <see cref="ChildProviders"/> does. Registers every child directory, then publishes the
    /// sorted listing; built once per directory.
    /// </summary>
    private MergedEntry[] BuildListing(MergedDirectory dir)
    {
        var slots = new SortedDictionary<byte[], Slot>(ByteArrayComparer.Instance);
        foreach (var p in dir.Providers)
        {
            _layers[p.Layer].ReadDirectory(p.Ino, 0, (long _, ReadOnlySpan<byte> name, ulong child, in LayerInode inode) =>
            {
                byte[] key = name.ToArray();
                if (!slots.TryGetValue(key, out var slot))
                {
                    slot = new Slot(p.Layer, child, inode.Type, (inode.Mode & Stat.S_IFMT) >> 12);
                    slot.Open = inode.Type == LayerFileType.Directory && !inode.Opaque;
                    if (inode.Type == LayerFileType.Directory)
                        slot.Providers = [new Provider(p.Layer, child)];
                    slots.Add(key, slot);
                }
                else if (slot.Open)
                {
                    if (inode.Type == LayerFileType.Directory)
                    {
                        slot.Providers!.Add(new Provider(p.Layer, child));
                        slot.Open = !inode.Opaque;
                    }
                    else
                    {
                        slot.Open = false;
                    }
                }
                return true;
            });
        }
        var entries = new List<MergedEntry>(slots.Count);
        foreach (var (name, slot) in slots)
        {
            if (slot.Type == LayerFileType.Whiteout) continue;
            ulong node = NodeOf(slot.Layer, slot.Ino);
            if (slot.Providers is { } providers && !_directories.ContainsKey(node))
                _directories.TryAdd(node, new MergedDirectory(node, dir.Node, [.. providers]));
            entries.Add(new MergedEntry(name, node, slot.Layer, slot.Ino, slot.DirentType));
        }
        var built = entries.ToArray();
        return Interlocked.CompareExchange(ref dir.Listing, built, null) ?? built;
    }

    /// <summary>One layer's directory that a merged directory shows (layer index top first, inode in that layer).</summary>
    private readonly record struct Provider(int Layer, ulong Ino);

    /// <summary>A directory of the merged tree: its own and its parent's node ids (for ".."), what it merges, and its listing once built.</summary>
    private sealed class MergedDirectory(ulong node, ulong parent, Provider[] providers)
    {
        public ulong Node { get; } = node;
        public ulong Parent { get; } = parent;
        public Provider[] Providers { get; } = providers;
        public MergedEntry[]? Listing; // built once by BuildListing, then only read
    }

    private sealed record MergedEntry(byte[] Name, ulong Node, int Layer, ulong Ino, uint Type);

    /// <summary>What <see cref="BuildListing"/> knows of one name so far.</summary>
    private sealed class Slot(int layer, ulong ino, LayerFileType type, uint direntType)
    {
        public int Layer { get; } = layer;
        public ulong Ino { get; } = ino;
        public LayerFileType Type { get; } = type;
        public uint DirentType { get; } = direntType;
        public bool Open;                 // a directory still taking lower directories of its name
        public List<Provider>? Providers; // directories only, top first
    }
}
