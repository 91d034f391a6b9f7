using System.Collections.Concurrent;
using FlatImage.Native.Fuse;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// Records a start profile (<see cref="Layers.StartProfile"/>) while a <see cref="MergedFileSystem"/>
/// serves a run with <c>FIM_PROFILE=1</c>: which regular files the run read, first read first, and
/// the names the kernel learned them by, so that each can be written out as a guest path.
///
/// Overview. FUSE speaks node ids, not paths: the kernel resolves every path (symlinks included)
/// into LOOKUPs of one name in one directory, or learns ids from READDIRPLUS, before it reads.
/// So the file system reports each (node, parent, name) it hands out — only the first name of a
/// node is kept (a hard link read under two names is one file) — and each READ's node. Both maps
/// are concurrent: the FUSE workers call in parallel and never wait for each other beyond the
/// dictionaries' own locks. The read order across workers is the order their first READs reached
/// <see cref="Read"/>, close enough to the order the program asked for them. A run that does not
/// record has no recorder, and the file system pays one null check per request.
/// </summary>
public sealed class StartProfileRecorder
{
    private readonly ConcurrentDictionary<ulong, (ulong Parent, byte[] Name)> _names = new();
    private readonly ConcurrentDictionary<ulong, long> _firstRead = new();
    private long _reads;

    /// <summary>The kernel learned <paramref name="node"/> as <paramref name="name"/> in directory <paramref name="parent"/>.</summary>
    public void Named(ulong node, ulong parent, ReadOnlySpan<byte> name)
    {
        if (!_names.ContainsKey(node))
            _names.TryAdd(node, (parent, name.ToArray()));
    }

    /// <summary>The run read data of regular file <paramref name="node"/>.</summary>
    public void Read(ulong node)
    {
        if (!_firstRead.ContainsKey(node))
            _firstRead.TryAdd(node, Interlocked.Increment(ref _reads));
    }

    /// <summary>
    /// The absolute guest paths of the files read, first read first. A node whose name chain does
    /// not reach the root (it cannot happen with the kernel's own requests) is left out.
    /// </summary>
    public List<byte[]> Paths()
    {
        var paths = new List<byte[]>();
        foreach (var (node, _) in _firstRead.OrderBy(kv => kv.Value))
        {
            if (PathOf(node) is { } path)
                paths.Add(path);
        }
        return paths;
    }

    private byte[]? PathOf(ulong node)
    {
        var names = new List<byte[]>();
        // Bounded walk: ids form a tree rooted at FUSE_ROOT_ID, but the bound costs nothing.
        for (int depth = 0; node != FuseKernel.FUSE_ROOT_ID; depth++)
        {
            if (depth > 4096 || !_names.TryGetValue(node, out var entry))
                return null;
            names.Add(entry.Name);
            node = entry.Parent;
        }
        if (names.Count == 0)
            return null;
        names.Reverse();
        var path = new List<byte>();
        foreach (byte[] name in names)
        {
            path.Add((byte)'/');
            path.AddRange(name);
        }
        return [.. path];
    }
}
