namespace FlatImage.Runtime.Layers;

/// <summary>
/// One path of the tree a layer is built from. <see cref="LayerWriter.Create"/> scans a directory
/// into these; a commit can also add <see cref="LayerFileType.Whiteout"/> nodes for deleted
/// paths and mark directories <see cref="Opaque"/>. Hard links are the same node object under
/// several names. Regular file contents are read from <see cref="SourcePath"/> while writing.
/// </summary>
public sealed class LayerSourceNode
{
    public LayerSourceNode(LayerFileType type) => Type = type;

    public LayerFileType Type { get; }

    /// <summary>Permission bits (07777); the type bits are derived from <see cref="Type"/>.</summary>
    public uint Permissions { get; set; }
    public uint Uid { get; set; }
    public uint Gid { get; set; }
    public long MtimeSeconds { get; set; }
    public uint MtimeNanoseconds { get; set; }

    /// <summary>Regular files: the byte length expected at <see cref="SourcePath"/>.</summary>
    public long Size { get; set; }

    /// <summary>Devices: a glibc dev_t (makedev encoding).</summary>
    public ulong Rdev { get; set; }

    /// <summary>Regular files: where to read the content from (raw path bytes, no NUL).</summary>
    public byte[]? SourcePath { get; set; }

    /// <summary>Symlinks: the target bytes.</summary>
    public byte[]? SymlinkTarget { get; set; }

    /// <summary>Directories: hide everything of the same directory in lower layers.</summary>
    public bool Opaque { get; set; }

    public List<KeyValuePair<byte[], byte[]>> Xattrs { get; } = new();

    /// <summary>Directories: children by name (raw bytes). Order does not matter; the writer sorts.</summary>
    public List<KeyValuePair<byte[], LayerSourceNode>> Children { get; } = new();

    public static LayerSourceNode NewWhiteout() => new(LayerFileType.Whiteout);
}
