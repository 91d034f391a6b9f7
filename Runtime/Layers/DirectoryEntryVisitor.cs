namespace FlatImage.Runtime.Layers;

/// <summary>
/// Receives one directory entry from <see cref="LayerReader.ReadDirectory"/>; returns false to
/// stop (for example when the reply buffer is full). <paramref name="index"/> is the entry's
/// position in the sorted directory: pass index + 1 to resume after it.
/// </summary>
public delegate bool DirectoryEntryVisitor(long index, ReadOnlySpan<byte> name, ulong ino, in LayerInode inode);
