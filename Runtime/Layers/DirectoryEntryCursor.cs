namespace FlatImage.Runtime.Layers;

/// <summary>
/// One directory entry at a time out of <see cref="LayerReader.ReadDirectory"/>, for the FUSE
/// servers' READDIR handlers: the visitor delegate and the name buffer are made once per thread
/// (callers keep one cursor per worker), so listing a directory allocates nothing.
/// </summary>
internal sealed class DirectoryEntryCursor
{
    private readonly byte[] _name = new byte[LayerFormat.MaxNameLength];
    private readonly DirectoryEntryVisitor _visitor;
    private int _nameLength;
    private bool _found;

    public DirectoryEntryCursor() => _visitor = Visit;

    public ulong Ino;
    public LayerInode Inode;
    public ReadOnlySpan<byte> Name => _name.AsSpan(0, _nameLength);

    /// <summary>Loads entry <paramref name="index"/> of <paramref name="dir"/>; false past the end (or for an index no directory has).</summary>
    public bool Take(LayerReader reader, ulong dir, ulong index)
    {
        _found = false;
        if (index > long.MaxValue || reader.ReadDirectory(dir, (long)index, _visitor) != 0)
            return false;
        return _found;
    }

    private bool Visit(long index, ReadOnlySpan<byte> name, ulong ino, in LayerInode inode)
    {
        int n = Math.Min(name.Length, _name.Length); // the reader validated names to MaxNameLength bytes
        name[..n].CopyTo(_name);
        _nameLength = n;
        Ino = ino;
        Inode = inode;
        _found = true;
        return false;
    }
}
