using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Commit;

/// <summary>
/// Looks directories up in the image's read-only stack (docs/cli.md §13.1), top layer first, for the
/// commit of a writable layer: see <see cref="OverlayUpperScanner.Scan"/>. The readers open on
/// first use, since most commits need them for a few paths or none.
/// </summary>
public sealed class LowerDirectories(string imagePath) : IDisposable
{
    private List<LayerReader>? _readers;

    /// <summary>The topmost lower directory at <paramref name="path"/>, as a childless node with its attributes; null if none.</summary>
    public LayerSourceNode? Find(IReadOnlyList<byte[]> path)
    {
        foreach (var (_, inode) in VisibleDirectories(path))
        {
            return new LayerSourceNode(LayerFileType.Directory)
            {
                Permissions = inode.Mode & 0xFFF,
                Uid = inode.Uid,
                Gid = inode.Gid,
                MtimeSeconds = inode.MtimeSeconds,
                MtimeNanoseconds = inode.MtimeNanoseconds,
            };
        }
        return null;
    }

    /// <summary>Whether the lower stack shows a directory at <paramref name="path"/> with anything in it: what an opaque directory there would hide.</summary>
    public bool HasEntries(IReadOnlyList<byte[]> path)
    {
        var whitedOut = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (reader, inode) in VisibleDirectories(path))
        {
            bool any = false;
            reader.ReadDirectory(inode.Ino, 0, (long _, ReadOnlySpan<byte> name, ulong _, in LayerInode child) =>
            {
                string n = Convert.ToBase64String(name);
                if (child.Type == LayerFileType.Whiteout)
                    whitedOut.Add(n);
                else if (!whitedOut.Contains(n))
                    any = true;
                return !any;
            });
            if (any)
                return true;
        }
        return false;
    }

    /// <summary>
    /// The directories at <paramref name="path"/> through the stack, top layer first, as the merged
    /// view shows them: the walk ends at a layer where the path or one of its parents is not a
    /// directory (a file or whiteout hides everything below it) or is opaque.
    /// </summary>
    private IEnumerable<(LayerReader Reader, LayerInode Inode)> VisibleDirectories(IReadOnlyList<byte[]> path)
    {
        _readers ??= OpenAll();
        for (int i = _readers.Count - 1; i >= 0; i--)
        {
            var reader = _readers[i];
            ulong ino = LayerReader.RootInode;
            bool found = reader.TryGetInode(ino, out var inode);
            bool lastLayer = false;
            foreach (byte[] name in path)
            {
                if (reader.Lookup(ino, name, out ino) != 0 || !reader.TryGetInode(ino, out inode))
                {
                    found = false;
                    break;
                }
                if (inode.Type != LayerFileType.Directory)
                    yield break;
                lastLayer |= inode.Opaque;
            }
            if (found)
                yield return (reader, inode);
            if (lastLayer)
                yield break;
        }
    }

    public void Dispose()
    {
        foreach (var reader in _readers ?? [])
            reader.Dispose();
    }

    private List<LayerReader> OpenAll()
    {
        var readers = new List<LayerReader>();
        foreach (var layer in LayerStack.Resolve(imagePath, _ => { }))
        {
            try
            {
                readers.Add(LayerReader.Open(layer.Path, layer.Offset, layer.Size));
            }
            catch (Exception e) when (e is InvalidLayerException or IOException or UnauthorizedAccessException)
            {
                // Skipped by runs too (with a warning there): it is not part of the lower view.
            }
        }
        return readers;
    }
}
