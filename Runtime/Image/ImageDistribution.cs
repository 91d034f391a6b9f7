using System.Text;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Image;

/// <summary>
/// <c>FIM_DIST</c> (cli.md §3.16): the <c>ID</c> of the os-release file (os-release(5)) that the
/// image's embedded layers show at <c>/etc/os-release</c>, else <c>/usr/lib/os-release</c>, upper
/// case — <c>DEBIAN</c> for a debootstrap image, whatever a later layer or commit turned it into.
/// Read straight from the layers, without mounting. <see cref="LayerAppender"/> records it in the
/// configuration whenever the embedded layers change (<c>fim-layer add</c>, <c>commit binary</c>),
/// so runs and <c>fim-version</c> read one stored word instead of decompressing a block on every
/// start. An image without an os-release (the empty blueprint, a bare busybox layer) is
/// <c>BLUEPRINT</c>.
/// Every byte here is untrusted: path walks are bounded, the file is read to a small cap, and the
/// value is reduced to the characters a distribution name uses.
/// </summary>
public static class ImageDistribution
{
    private const int MaxSymlinkHops = 8;
    private const int MaxOsReleaseBytes = 64 * 1024;
    private const int MaxNameLength = 32;

    // Only metadata and one small file are read: a block cache of one block is plenty.
    private static readonly LayerReaderOptions ReaderOptions = new() { CacheBytes = 1 };

    /// <summary>The distribution of the image's embedded layers, or null when they hold no usable os-release.</summary>
    public static string? Detect(string imagePath)
    {
        IReadOnlyList<LayerSpan> layers;
        try
        {
            using var file = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read);
            layers = EmbeddedLayers.Read(file, ImageLayout.Read(file), imagePath).Layers;
        }
        catch (InvalidLayerException)
        {
            return null;
        }
        return Detect(imagePath, layers);
    }

    /// <summary>As <see cref="Detect(string)"/>, for the given embedded layers (bottom first).</summary>
    public static string? Detect(string imagePath, IReadOnlyList<LayerSpan> layers)
    {
        if (layers.Count == 0)
            return null;

        // Top first: the layer that wins a path in the merged tree is asked first.
        var readers = new LayerReader?[layers.Count];
        try
        {
            LayerReader Reader(int topIndex)
            {
                int i = layers.Count - 1 - topIndex;
                return readers[i] ??= LayerReader.Open(imagePath, layers[i].Offset, layers[i].Size, ReaderOptions);
            }
            foreach (string path in new[] { "/etc/os-release", "/usr/lib/os-release" })
            {
                if (ReadMerged(Reader, layers.Count, path) is { } text)
                    return ParseId(text);
            }
            return null;
        }
        catch (InvalidLayerException)
        {
            // A damaged layer is reported by the commands that use it; here it only means "unknown".
            return null;
        }
        finally
        {
            foreach (var reader in readers)
                reader?.Dispose();
        }
    }

    /// <summary>The upper-cased <c>ID=</c> value of an os-release text, or null when it has none usable.</summary>
    public static string? ParseId(string osRelease)
    {
        foreach (string raw in osRelease.Split('\n'))
        {
            string line = raw.Trim();
            if (!line.StartsWith("ID=", StringComparison.Ordinal))
                continue;
            string value = line[3..].Trim().Trim('"', '\'');
            var name = new StringBuilder();
            foreach (char c in value)
            {
                if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')
                    name.Append(char.ToUpperInvariant(c));
            }
            return name.Length is > 0 and <= MaxNameLength ? name.ToString() : null;
        }
        return null;
    }

    /// <summary>
    /// Reads a regular file as the merged tree would show it: overlay rules over the layers
    /// (a whiteout, a non-directory or an opaque directory on the way hides the layers below) and
    /// symlinks followed through the whole stack, as the kernel would after mounting.
    /// </summary>
    private static string? ReadMerged(Func<int, LayerReader> reader, int count, string path)
    {
        for (int hop = 0; hop <= MaxSymlinkHops; hop++)
        {
            var components = Normalize(path);
            if (components is null)
                return null;
            var outcome = Resolve(reader, count, components);
            switch (outcome)
            {
                case Found found:
                    return found.Text;
                case Link link:
                    // A relative target is relative to the directory holding the link.
                    string dir = "/" + string.Join('/', components.Take(link.Depth));
                    path = link.Target.StartsWith('/') ? link.Target : $"{dir}/{link.Target}";
                    continue;
                default:
                    return null;
            }
        }
        return null;
    }

    private abstract record Outcome;
    private sealed record Missing : Outcome;
    private sealed record Found(string Text) : Outcome;
    /// <param name="Depth">how many components precede the link: its target is resolved from there.</param>
    private sealed record Link(int Depth, string Target) : Outcome;

    private static Outcome Resolve(Func<int, LayerReader> reader, int count, List<string> components)
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
                    return inode.Type == LayerFileType.Regular ? ReadText(r, child, inode) : new Missing();
                if (inode.Type != LayerFileType.Directory)
                    return new Missing();
                opaqueOnTheWay |= inode.Opaque;
                ino = child;
            }
        nextLayer:;
        }
        return new Missing();
    }

    private static Outcome ReadText(LayerReader reader, ulong ino, LayerInode inode)
    {
        var buffer = new byte[(int)Math.Clamp(inode.Size, 0, MaxOsReleaseBytes)];
        return reader.Read(ino, 0, buffer, out int read) == 0
            ? new Found(Encoding.UTF8.GetString(buffer, 0, read))
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
