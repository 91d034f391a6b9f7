using System.Text;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Tests.Fuse;

/// <summary>
/// A small immutable in-memory filesystem for the FUSE tests (and tests/FuseProbe): directories,
/// files, symlinks and xattrs, built up front, then served read-only. Node ids are indexes into
/// one list (1 = root). Handlers follow the IFuseFileSystem rules: no allocation, no throwing,
/// one reply or a positive errno.
/// </summary>
public sealed class MemoryFileSystem : IFuseFileSystem
{
    private const uint DirMode = Stat.S_IFDIR | 0x1ED;   // 0755
    private const uint FileMode = Stat.S_IFREG | 0x1A4;  // 0644
    private const uint LinkMode = Stat.S_IFLNK | 0x1FF;  // 0777

    private readonly List<Node> _nodes = [null!, null!]; // index 0 unused, 1 = root
    private readonly long _mtime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private long _forgets;
    private long _readDirPlusCalls;
    private long _readDirCalls;
    private long _maxReadSize;
    private long _lookups;
    private long _opens;
    private long _maxAllocatedBetweenGetAttrs;
    private long _allocatedAfterWarmUp;
    private long _measuredGetAttrs;
    private long _allocatingGetAttrIntervals;
    private long _getAttrs;
    private readonly ThreadLocal<long> _allocatedAtLastGetAttr = new(() => -1);
    private readonly ThreadLocal<int> _getAttrsOnThread = new(() => 0);

    /// <summary>GETATTRs a worker serves before measuring: first calls run one-time code (static
    /// initializers, tiered-JIT promotion in Release builds) that is not a per-request cost.</summary>
    private const int WarmUpCalls = 200;

    public MemoryFileSystem(uint uid = 0, uint gid = 0)
    {
        Uid = uid;
        Gid = gid;
        _nodes[1] = new Node(1, 1, [], DirMode);
    }

    /// <summary>Answer OPEN/OPENDIR with ENOSYS (zero-message open, FUSE_NO_OPEN_SUPPORT).</summary>
    public bool StatelessOpen { get; init; }

    public long Opens => Interlocked.Read(ref _opens);

    public uint Uid { get; }
    public uint Gid { get; }
    public ulong Root => 1;
    public FuseConnectionInfo? Connection { get; private set; }
    public long Forgets => Interlocked.Read(ref _forgets);
    public long ReadDirPlusCalls => Interlocked.Read(ref _readDirPlusCalls);
    public long ReadDirCalls => Interlocked.Read(ref _readDirCalls);
    public long MaxReadSize => Interlocked.Read(ref _maxReadSize);
    public long Lookups => Interlocked.Read(ref _lookups);

    /// <summary>
    /// The most bytes a worker thread allocated between two GETATTRs it served: the whole
    /// read → dispatch → reply loop in between, so 0 means requests cost no allocation.
    /// </summary>
    public long GetAttrCalls => Interlocked.Read(ref _getAttrs);

    public long MaxAllocatedBetweenGetAttrs => Interlocked.Read(ref _maxAllocatedBetweenGetAttrs);

    /// <summary>GETATTR intervals measured after warm-up (each a worker's whole loop from one GETATTR to its next).</summary>
    public long MeasuredGetAttrIntervals => Interlocked.Read(ref _measuredGetAttrs);

    /// <summary>
    /// Of <see cref="MeasuredGetAttrIntervals"/>, those in which the worker allocated anything: a
    /// per-request allocation shows in (nearly) every one, a one-off of the runtime's (a
    /// marshalling stub built at a P/Invoke's first call) in one.
    /// </summary>
    public long AllocatingGetAttrIntervals => Interlocked.Read(ref _allocatingGetAttrIntervals);

    /// <summary>Bytes a worker allocated per served GETATTR interval, on average, after warm-up.</summary>
    public double AllocatedPerGetAttr => Interlocked.Read(ref _measuredGetAttrs) == 0 ? 0
        : (double)Interlocked.Read(ref _allocatedAfterWarmUp) / Interlocked.Read(ref _measuredGetAttrs);

    // Building ------------------------------------------------------------------------------

    public ulong AddDirectory(ulong parent, string name) => Add(parent, name, DirMode, null, null);
    public ulong AddFile(ulong parent, string name, byte[] content) => Add(parent, name, FileMode, content, null);
    public ulong AddSymlink(ulong parent, string name, string target) => Add(parent, name, LinkMode, null, Encoding.UTF8.GetBytes(target));

    public void SetXattr(ulong node, string name, byte[] value)
    {
        var n = _nodes[(int)node];
        n.Xattrs.Add((Encoding.UTF8.GetBytes(name), value));
        var list = new List<byte>();
        foreach (var (k, _) in n.Xattrs) { list.AddRange(k); list.Add(0); }
        n.XattrList = list.ToArray();
    }

    private ulong Add(ulong parent, string name, uint mode, byte[]? content, byte[]? target)
    {
        var p = _nodes[(int)parent];
        var id = (ulong)_nodes.Count;
        var node = new Node(id, parent, Encoding.UTF8.GetBytes(name), mode) { Content = content, Target = target };
        _nodes.Add(node);
        // Keep children sorted by name bytes so that Lookup can binary-search without allocating.
        int i = p.Children.BinarySearch(node, NameOrder.Instance);
        p.Children.Insert(~i, node);
        if ((mode & Stat.S_IFMT) == Stat.S_IFDIR) p.Nlink++;
        return id;
    }

    /// <summary>The content the probe and the unprivileged tests expect.</summary>
    public static MemoryFileSystem Sample(uint uid, uint gid)
    {
        var fs = new MemoryFileSystem(uid, gid);
        var dir = fs.AddDirectory(fs.Root, "dir");
        fs.AddFile(dir, "hello.txt", "hello, fuse\n"u8.ToArray());
        fs.AddFile(fs.Root, "big.bin", SampleBytes(3 * 1024 * 1024 + 17));
        fs.AddSymlink(fs.Root, "link", "dir/hello.txt");
        fs.SetXattr(dir, "user.flatimage", "layer-0"u8.ToArray());
        return fs;
    }

    /// <summary>A copy of a real directory tree (files, directories, symlinks), held in memory.</summary>
    public static MemoryFileSystem FromDirectory(string root, uint uid, uint gid, bool statelessOpen = false)
    {
        var fs = new MemoryFileSystem(uid, gid) { StatelessOpen = statelessOpen };
        void Copy(string dir, ulong node)
        {
            foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos())
            {
                if (entry.LinkTarget is { } target) fs.AddSymlink(node, entry.Name, target);
                else if (entry is DirectoryInfo d) Copy(d.FullName, fs.AddDirectory(node, entry.Name));
                else fs.AddFile(node, entry.Name, File.ReadAllBytes(entry.FullName));
            }
        }
        Copy(root, fs.Root);
        return fs;
    }

    /// <summary>Deterministic pseudo-random content.</summary>
    public static byte[] SampleBytes(int length, int seed = 42)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    // Serving -------------------------------------------------------------------------------

    public void Init(FuseConnectionInfo connection) => Connection = connection;

    public void Destroy() { }

    public int Lookup(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        Interlocked.Increment(ref _lookups);
        if (!TryGet(header.nodeid, out var dir)) return Errno.ENOENT;
        if ((dir.Mode & Stat.S_IFMT) != Stat.S_IFDIR) return Errno.ENOTDIR;
        var child = Find(dir, name);
        if (child is null)
        {
            // Immutable data: let the kernel remember the absence.
            reply.NegativeEntry();
            return 0;
        }
        reply.Entry(child.Id, Attr(child));
        return 0;
    }

    public void Forget(ulong nodeid, ulong nlookup) => Interlocked.Add(ref _forgets, (long)nlookup);

    public int GetAttr(in fuse_in_header header, in fuse_getattr_in arg, ref FuseReply reply)
    {
        Interlocked.Increment(ref _getAttrs);
        long now = GC.GetAllocatedBytesForCurrentThread();
        long last = _allocatedAtLastGetAttr.Value;
        bool warm = ++_getAttrsOnThread.Value > WarmUpCalls;
        if (warm && last >= 0)
        {
            Interlocked.Add(ref _allocatedAfterWarmUp, now - last);
            Interlocked.Increment(ref _measuredGetAttrs);
            if (now > last)
                Interlocked.Increment(ref _allocatingGetAttrIntervals);
            if (now - last > Interlocked.Read(ref _maxAllocatedBetweenGetAttrs))
                Interlocked.Exchange(ref _maxAllocatedBetweenGetAttrs, now - last);
        }
        _allocatedAtLastGetAttr.Value = GC.GetAllocatedBytesForCurrentThread();
        if (!TryGet(header.nodeid, out var node)) return Errno.ENOENT;
        reply.Attr(Attr(node));
        return 0;
    }

    public int ReadLink(in fuse_in_header header, ref FuseReply reply)
    {
        if (!TryGet(header.nodeid, out var node)) return Errno.ENOENT;
        if (node.Target is null) return Errno.EINVAL;
        reply.ReadLink(node.Target);
        return 0;
    }

    public int Open(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply)
    {
        Interlocked.Increment(ref _opens);
        if (StatelessOpen) return Errno.ENOSYS;
        if (!TryGet(header.nodeid, out var node)) return Errno.ENOENT;
        if ((arg.flags & 3) != Fcntl.O_RDONLY) return Errno.EROFS;
        if (node.Content is null) return Errno.EISDIR;
        // Immutable data: keep the page cache across opens.
        reply.Open(node.Id, FuseKernel.FOPEN_KEEP_CACHE);
        return 0;
    }

    public int Read(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply)
    {
        if (!TryGet(header.nodeid, out var node) || node.Content is null) return Errno.EBADF;
        long size = arg.size;
        long seen;
        while (size > (seen = Interlocked.Read(ref _maxReadSize)) && Interlocked.CompareExchange(ref _maxReadSize, size, seen) != seen) { }
        var content = node.Content;
        if (arg.offset >= (ulong)content.Length)
        {
            reply.CommitData(0);
            return 0;
        }
        var src = content.AsSpan((int)arg.offset);
        var dst = reply.DataBuffer();
        int n = Math.Min(src.Length, dst.Length);
        src[..n].CopyTo(dst);
        reply.CommitData(n);
        return 0;
    }

    public int Release(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply) => 0;

    public int OpenDir(in fuse_in_header header, in fuse_open_in arg, ref FuseReply reply)
    {
        Interlocked.Increment(ref _opens);
        if (StatelessOpen) return Errno.ENOSYS;
        if (!TryGet(header.nodeid, out var node)) return Errno.ENOENT;
        if ((node.Mode & Stat.S_IFMT) != Stat.S_IFDIR) return Errno.ENOTDIR;
        reply.Open(node.Id, FuseKernel.FOPEN_KEEP_CACHE | FuseKernel.FOPEN_CACHE_DIR);
        return 0;
    }

    public int ReadDir(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply)
    {
        Interlocked.Increment(ref _readDirCalls);
        if (!TryGet(header.nodeid, out var dir)) return Errno.ENOENT;
        // Cookies: 0 ".", 1 "..", 2+i the i-th child; each entry carries the next cookie.
        for (ulong i = arg.offset; i < (ulong)dir.Children.Count + 2; i++)
        {
            var node = Entry(dir, i, out var name);
            if (!reply.AddDirent(node.Id, i + 1, (node.Mode & Stat.S_IFMT) >> 12, name)) break;
        }
        return 0;
    }

    public int ReadDirPlus(in fuse_in_header header, in fuse_read_in arg, ref FuseReply reply)
    {
        Interlocked.Increment(ref _readDirPlusCalls);
        if (!TryGet(header.nodeid, out var dir)) return Errno.ENOENT;
        for (ulong i = arg.offset; i < (ulong)dir.Children.Count + 2; i++)
        {
            var node = Entry(dir, i, out var name);
            if (!reply.AddDirentPlus(node.Id, Attr(node), i + 1, name)) break;
        }
        return 0;
    }

    public int ReleaseDir(in fuse_in_header header, in fuse_release_in arg, ref FuseReply reply) => 0;

    public int StatFs(in fuse_in_header header, ref FuseReply reply)
    {
        long bytes = 0;
        foreach (var n in _nodes) bytes += n?.Content?.Length ?? 0;
        reply.StatFs(new fuse_kstatfs
        {
            blocks = (ulong)(bytes + 4095) / 4096,
            files = (ulong)_nodes.Count - 1,
            bsize = 4096,
            frsize = 4096,
            namelen = 255,
        });
        return 0;
    }

    public int GetXattr(in fuse_in_header header, in fuse_getxattr_in arg, ReadOnlySpan<byte> name, ref FuseReply reply)
    {
        if (!TryGet(header.nodeid, out var node)) return Errno.ENOENT;
        foreach (var (k, v) in node.Xattrs)
        {
            if (name.SequenceEqual(k))
            {
                reply.Xattr(v);
                return 0;
            }
        }
        return Errno.ENODATA;
    }

    public int ListXattr(in fuse_in_header header, in fuse_getxattr_in arg, ref FuseReply reply)
    {
        if (!TryGet(header.nodeid, out var node)) return Errno.ENOENT;
        reply.Xattr(node.XattrList);
        return 0;
    }

    public int Access(in fuse_in_header header, in fuse_access_in arg, ref FuseReply reply) => 0;

    // Helpers -------------------------------------------------------------------------------

    private bool TryGet(ulong id, out Node node)
    {
        node = id > 0 && id < (ulong)_nodes.Count ? _nodes[(int)id] : null!;
        return node is not null;
    }

    private Node Entry(Node dir, ulong cookie, out ReadOnlySpan<byte> name)
    {
        switch (cookie)
        {
            case 0: name = "."u8; return dir;
            case 1: name = ".."u8; return _nodes[(int)dir.Parent];
            default:
                var child = dir.Children[(int)cookie - 2];
                name = child.Name;
                return child;
        }
    }

    private static Node? Find(Node dir, ReadOnlySpan<byte> name)
    {
        int lo = 0, hi = dir.Children.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = dir.Children[mid].Name.AsSpan().SequenceCompareTo(name);
            if (c == 0) return dir.Children[mid];
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return null;
    }

    private fuse_attr Attr(Node n)
    {
        ulong size = (ulong)(n.Content?.Length ?? n.Target?.Length ?? 4096);
        return new fuse_attr
        {
            ino = n.Id,
            size = size,
            blocks = (size + 511) / 512,
            atime = (ulong)_mtime,
            mtime = (ulong)_mtime,
            ctime = (ulong)_mtime,
            mode = n.Mode,
            nlink = n.Nlink,
            uid = Uid,
            gid = Gid,
            blksize = 4096,
        };
    }

    private sealed class Node(ulong id, ulong parent, byte[] name, uint mode)
    {
        public ulong Id { get; } = id;
        public ulong Parent { get; } = parent;
        public byte[] Name { get; } = name;
        public uint Mode { get; } = mode;
        public uint Nlink { get; set; } = (mode & Stat.S_IFMT) == Stat.S_IFDIR ? 2u : 1u;
        public List<Node> Children { get; } = [];
        public byte[]? Content { get; init; }
        public byte[]? Target { get; init; }
        public List<(byte[] Name, byte[] Value)> Xattrs { get; } = [];
        public byte[] XattrList { get; set; } = [];
    }

    private sealed class NameOrder : IComparer<Node>
    {
        public static readonly NameOrder Instance = new();
        public int Compare(Node? x, Node? y) => x!.Name.AsSpan().SequenceCompareTo(y!.Name);
    }
}
