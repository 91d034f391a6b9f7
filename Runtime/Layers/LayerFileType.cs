namespace FlatImage.Runtime.Layers;

/// <summary>The kind of an inode in a layer. Stored as one byte; the values are part of the format.</summary>
public enum LayerFileType : byte
{
    Regular = 0,
    Directory = 1,
    Symlink = 2,
    CharDevice = 3,
    BlockDevice = 4,
    Fifo = 5,

    /// <summary>
    /// A deleted path recorded by a commit (overlayfs style): it hides the same name in the
    /// layers below. Presented like overlayfs's whiteout, a char device 0/0.
    /// </summary>
    Whiteout = 6,
}
