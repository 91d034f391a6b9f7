using System.Text;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Image;

/// <summary>
/// Reads one small file of a layer stack straight from the layers, without mounting: the file
/// the merged tree would show (overlay rules over the layers — a whiteout, a non-directory or an
/// opaque directory on the way hides the layers below — and symlinks followed through the whole
/// stack as the kernel would after mounting). Every byte is untrusted: path walks are bounded and
/// the file is read to a cap.
/// </summary>
public sealed class LayerStackFiles : IDisposable
{
    private const int MaxSymlinkHops = 8;

    // Only metadata and a few small files are read: two blocks of the default size are plenty
    // (passwd and group usually share one).
    private static readonly LayerReaderOptions ReaderOptions = new() { CacheBytes = 2L * 1024 * 1024 };

    // Readers are opened on first use and kept: a run asks several questions of the same layers,
    // and each open checks and decompresses a layer's whole metadata.
    private readonly LayerReaderSet _readers;
    private readonly bool _ownsReaders;

    /// <summary>Reads through readers of its own, closed with this object.</summary>
    public LayerStackFiles(IReadOnlyList<LayerLocation> bottomToTop)
        : this(new LayerReaderSet(bottomToTop, ReaderOptions), ownsReaders: true)
    {
    }

    /// <summary>Reads through <paramref name="readers"/>, which stay open after this object (a run's mount takes them over).</summary>
    public LayerStackFiles(LayerReaderSet readers)
        : this(readers, ownsReaders: false)
    {
    }

    private LayerStackFiles(LayerReaderSet readers, bool ownsReaders)
    {
        _readers = readers;
        _ownsReaders = ownsReaders;
    }

    public void Dispose()
    {
        if (_ownsReaders)
            _readers.Dispose();
    }

    /// <summary>
    /// The first <paramref name="maxBytes"/> bytes of <paramref name="path"/> as the merged tree
    /// shows it, or null when it shows no regular file there.
    /// Throws <see cref="InvalidLayerException"/> for a damaged layer.
    /// </summary>
    public byte[]? Read(string path, int maxBytes) =>
        Walk(path, (r, ino, inode) =>
            inode.Type == LayerFileType.Regular ? ReadBytes(r, ino, inode, maxBytes) : new Missing()) is Found found ? found.Text : null;

    /// <summary>
    /// The permission bits (mode &amp; 07777) of directory <paramref name="path"/> as the merged
    /// tree shows it, or null when it shows no directory there.
    /// Throws <see cref="InvalidLayerException"/> for a damaged layer.
    /// </summary>
    public uint? DirectoryPermissions(string path) =>
        Walk(path, (_, _, inode) =>
            inode.Type == LayerFileType.Directory ? new FoundDirectory(inode.Mode & 0xfff) : new Missing()) is FoundDirectory d ? d.Permissions : null;

    private Outcome Walk(string path, Func<LayerReader, ulong, LayerInode, Outcome> atEnd) =>
        _readers.Layers.Count == 0 ? new Missing() : ReadMerged(Reader, _readers.Layers.Count, path, atEnd);

    /// <summary>The reader of the <paramref name="topIndex"/>-th layer from the top: the layer that wins a path is asked first.</summary>
    private LayerReader Reader(int topIndex) => _readers.Get(_readers.Layers.Count - 1 - topIndex);

    /// <param name="atEnd">what the entry the path ends at (not a symlink) gives.</param>
    private static Outcome ReadMerged(Func<int, LayerReader> reader, int count, string path, Func<LayerReader, ulong, LayerInode, Outcome> atEnd)
    {
        for (int hop = 0; hop <= MaxSymlinkHops; hop++)
        {
            var components = Normalize(path);
            if (components is null)
                return new Missing();
            var outcome = Resolve(reader, count, components, atEnd);
            switch (outcome)
            {
                case Link link:
                    // A relative target is relative to the directory holding the link.
                    string dir = "/" + string.Join('/', components.Take(link.Depth));
                    path = link.Target.StartsWith('/') ? link.Target : $"{dir}/{link.Target}";
                    continue;
                default:
                    return outcome;
            }
        }
        return new Missing();
    }

    private abstract record Outcome;
    private sealed record Missing : Outcome;
    private sealed record Found(byte[] Text) : Outcome;
    private sealed record FoundDirectory(uint Permissions) : Outcome;
    /// <param name="Depth">how many components precede the link: its target is resolved from there.</param>
    private sealed record Link(int Depth, string Target) : Outcome;

    private static Outcome Resolve(Func<int, LayerReader> reader, int count, List<string> components, Func<LayerReader, ulong, LayerInode, Outcome> atEnd)
    {
        for (int layer = 0; layer < count; layer++)
        {
            var r = reader(layer);
            ulong ino = LayerReader.RootInode;
            bool opaqueOnTheWay = false;
            for (int depth = 0; depth < components.Count; depth++)
            {
                if (r.Lookup(ino, Encoding.UTF8.GetBytes(components[depth]), out ulong child) != 0)
                {
                    if (opaqueOnTheWay)
                        return new Missing();
                    goto nextLayer;
                }
                if (!r.TryGetInode(child, out var inode) || inode.Type == LayerFileType.Whiteout)
                    return new Missing();
                bool last = depth == components.Count - 1;
                if (inode.Type == LayerFileType.Symlink)
                {
                    if (r.ReadLink(child, out var target) != 0 || target.Length == 0)
                        return new Missing();
                    string rest = last ? "" : "/" + string.Join('/', components.Skip(depth + 1));
                    return new Link(depth, Encoding.UTF8.GetString(target.Span) + rest);
                }
                if (last)
                    return atEnd(r, child, inode);
                if (inode.Type != LayerFileType.Directory)
                    return new Missing();
                opaqueOnTheWay |= inode.Opaque;
                ino = child;
            }
        nextLayer:;
        }
        return new Missing();
    }

    private static Outcome ReadBytes(LayerReader reader, ulong ino, LayerInode inode, int maxBytes)
    {
        var buffer = new byte[(int)Math.Clamp(inode.Size, 0, maxBytes)];
        return reader.Read(ino, 0, buffer, out int read) == 0
            ? new Found(buffer[..read])
            : new Missing();
    }

    /// <summary>Absolute path to components, with "." and ".." applied (".." stops at the root); null when absurdly long.</summary>
    private static List<string>? Normalize(string path)
    {
        if (path.Length > 4096)
            return null;
        var components = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
                continue;
            if (part == "..")
            {
                if (components.Count > 0)
                    components.RemoveAt(components.Count - 1);
                continue;
            }
            components.Add(part);
        }
        return components;
    }
}
