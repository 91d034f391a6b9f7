using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Commit;

/// <summary>
/// Looks directories up in the image's read-only stack (cli.md §13.1), top layer first, for the
/// commit of a unionfs-fuse writable layer: see <see cref="OverlayUpperScanner.Scan"/>. The
/// readers open on first use, since an overlayfs commit never needs them.
/// </summary>
public sealed class LowerDirectories(string imagePath) : IDisposable
{
    private List<LayerReader>? _readers;

    /// <summary>The topmost lower directory at <paramref name="path"/>, as a childless node with its attributes; null if none.</summary>
    public LayerSourceNode? Find(IReadOnlyList<byte[]> path)
    {
        _readers ??= OpenAll();
        for (int i = _readers.Count - 1; i >= 0; i--)
        {
            var reader = _readers[i];
            ulong ino = LayerReader.RootInode;
            bool found = true;
            foreach (byte[] name in path)
            {
                if (reader.Lookup(ino, name, out ino) != 0)
                {
                    found = false;
                    break;
                }
            }
            if (!found || !reader.TryGetInode(ino, out var inode))
                continue;
            if (inode.Type != LayerFileType.Directory)
                return null; // a file (or whiteout) hides whatever directory lies below
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
