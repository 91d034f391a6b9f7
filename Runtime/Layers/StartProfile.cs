using System.Text;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Layers;

/// <summary>
/// A start profile: the guest paths of the regular files a boot read, in the order it first read
/// them. A run with <c>FIM_PROFILE=1</c> records one into the data directory
/// (<see cref="FileName"/>); <c>fim-layer create --profile</c> and <c>fim-layer commit</c> place
/// those files first in the layer, in small blocks the reader decompresses ahead at mount
/// (docs/layers.md "Start profile").
///
/// The file is text: one absolute path per line (raw bytes, no escaping), <c>#</c> starts a
/// comment line. A guest wrote those paths, so nothing here trusts them: a line that is not an
/// absolute path of plain names (no <c>.</c>, <c>..</c>, NUL, or name over 255 bytes) is skipped,
/// the file is read to a cap, and a path is only ever looked up by name in the tree being packed
/// (<see cref="Resolve"/>), never opened on the host.
/// </summary>
public sealed class StartProfile
{
    /// <summary>The profile's name in an image's data directory.</summary>
    public const string FileName = "start-profile";

    /// <summary>More than any boot reads; a longer file is cut there.</summary>
    public const int MaxPaths = 65536;

    /// <summary>Bytes read of a profile file at most (65536 paths of 256 bytes).</summary>
    public const int MaxFileBytes = 16 * 1024 * 1024;

    private const int MaxPathBytes = 4096;

    private static ReadOnlySpan<byte> Heading => "# flatimage start profile: files the boot read, first read first\n"u8;

    private StartProfile(IReadOnlyList<byte[][]> paths, int skipped)
    {
        Paths = paths;
        SkippedLines = skipped;
    }

    /// <summary>Each path as its components (plain names), in the recorded order, duplicates removed.</summary>
    public IReadOnlyList<byte[][]> Paths { get; }

    /// <summary>Lines that were not a usable path.</summary>
    public int SkippedLines { get; }

    public static StartProfile Empty { get; } = new([], 0);

    /// <summary>Parses profile text; never throws on content.</summary>
    public static StartProfile Parse(ReadOnlySpan<byte> text)
    {
        var paths = new List<byte[][]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int skipped = 0;
        while (!text.IsEmpty && paths.Count < MaxPaths)
        {
            int end = text.IndexOf((byte)'\n');
            var line = end < 0 ? text : text[..end];
            text = end < 0 ? default : text[(end + 1)..];
            if (line.IsEmpty || line[0] == (byte)'#')
                continue;
            if (Components(line) is { } components && seen.Add(Key(line)))
                paths.Add(components);
            else
                skipped++;
        }
        return new StartProfile(paths, skipped);
    }

    /// <summary>Reads a profile file (its first <see cref="MaxFileBytes"/>); IOException or UnauthorizedAccessException when it cannot be read.</summary>
    public static StartProfile Load(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        long length = Math.Min(RandomAccess.GetLength(handle), MaxFileBytes);
        var bytes = new byte[length];
        int read = FullRead.At(handle, bytes, 0);
        return Parse(bytes.AsSpan(0, read));
    }

    /// <summary>
    /// Writes <paramref name="paths"/> (absolute guest paths, raw bytes) as a profile file,
    /// replacing it atomically (<see cref="BeneathDirectory.ReplaceFile"/>: a reader sees the old
    /// profile or the new one, and a symlink under that name is replaced, never followed). Paths a
    /// profile cannot hold (a newline in a name) are left out. Throws IOException.
    /// </summary>
    public static void Write(string path, IEnumerable<byte[]> paths)
    {
        using var text = new MemoryStream();
        text.Write(Heading);
        foreach (byte[] p in paths)
        {
            if (p.AsSpan().IndexOf((byte)'\n') >= 0 || Components(p) is null)
                continue;
            text.Write(p);
            text.WriteByte((byte)'\n');
        }
        string full = Path.GetFullPath(path);
        using var directory = BeneathDirectory.Open(Path.GetDirectoryName(full)!, [])!;
        directory.ReplaceFile(Path.GetFileName(full), text.GetBuffer().AsSpan(0, (int)text.Length), 0x1A4 /* 0644 */);
    }

    /// <summary>
    /// The nodes of <paramref name="root"/> that the profile names, in its order: each path is
    /// walked by name through directories only (a symlink on the way or at the end is not
    /// followed), and only a regular file at its end counts. Everything else is skipped.
    /// </summary>
    public List<LayerSourceNode> Resolve(LayerSourceNode root)
    {
        var found = new List<LayerSourceNode>();
        var taken = new HashSet<LayerSourceNode>(ReferenceEqualityComparer.Instance);
        // Children are lists; index the directories a profile passes through once.
        var index = new Dictionary<LayerSourceNode, Dictionary<string, LayerSourceNode>>(ReferenceEqualityComparer.Instance);
        foreach (var components in Paths)
        {
            var node = root;
            foreach (byte[] name in components)
            {
                if (node.Type != LayerFileType.Directory)
                {
                    node = null;
                    break;
                }
                if (!index.TryGetValue(node, out var children))
                {
                    children = new Dictionary<string, LayerSourceNode>(StringComparer.Ordinal);
                    foreach (var (childName, child) in node.Children)
                        children.TryAdd(Key(childName), child);
                    index.Add(node, children);
                }
                node = children.GetValueOrDefault(Key(name));
                if (node is null)
                    break;
            }
            if (node is { Type: LayerFileType.Regular } && taken.Add(node))
                found.Add(node);
        }
        return found;
    }

    // Names are raw bytes; Latin-1 maps each byte to one char, so keys compare as the bytes do.
    private static string Key(ReadOnlySpan<byte> name) => Encoding.Latin1.GetString(name);

    /// <summary>The components of an absolute path of plain names, or null.</summary>
    private static byte[][]? Components(ReadOnlySpan<byte> path)
    {
        if (path.Length is < 2 or > MaxPathBytes || path[0] != (byte)'/' || path.IndexOf((byte)0) >= 0)
            return null;
        var components = new List<byte[]>();
        foreach (var range in path[1..].Split((byte)'/'))
        {
            var name = path[1..][range];
            if (name.IsEmpty)
                continue;
            if (name.Length > LayerFormat.MaxNameLength || name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                return null;
            components.Add(name.ToArray());
        }
        return components.Count == 0 ? null : [.. components];
    }
}
