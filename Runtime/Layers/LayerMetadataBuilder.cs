using System.Buffers.Binary;
using FlatImage.Native.Interop;

namespace FlatImage.Runtime.Layers;

/// <summary>
/// Serializes the tree into the metadata tables of <see cref="LayerFormat"/>. Inode numbers are
/// given in breadth-first order from the root (1), so the entries of one directory and the
/// inodes they point to sit close together.
/// </summary>
internal static class LayerMetadataBuilder
{
    public static byte[] Build(LayerSourceNode root, Dictionary<LayerSourceNode, long> streamOffsets, out long inodeCount)
    {
        var inodes = new List<LayerSourceNode> { root };
        var numbers = new Dictionary<LayerSourceNode, uint>(ReferenceEqualityComparer.Instance) { [root] = 1 };
        var nlinks = new List<uint> { 2 };
        var dirFirst = new Dictionary<uint, (uint First, uint Count)>();
        var entries = new List<(byte[] Name, uint Ino)>();
        var queue = new Queue<(LayerSourceNode Dir, uint Ino)>();
        queue.Enqueue((root, 1));
        while (queue.Count > 0)
        {
            var (dir, dirIno) = queue.Dequeue();
            var children = dir.Children.ToArray();
            Array.Sort(children, (a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
            dirFirst[dirIno] = ((uint)entries.Count, (uint)children.Length);
            for (int i = 0; i < children.Length; i++)
            {
                var (name, child) = children[i];
                ValidateName(name);
                if (i > 0 && children[i - 1].Key.AsSpan().SequenceEqual(name))
                    throw new ArgumentException($"duplicate name '{System.Text.Encoding.UTF8.GetString(name)}' in one directory");
                if (child.Type == LayerFileType.Directory)
                {
                    if (numbers.ContainsKey(child))
                        throw new ArgumentException("a directory appears twice in the tree");
                    uint ino = checked((uint)inodes.Count + 1);
                    numbers[child] = ino;
                    inodes.Add(child);
                    nlinks.Add(2);
                    nlinks[(int)dirIno - 1]++;
                    entries.Add((name, ino));
                    queue.Enqueue((child, ino));
                }
                else if (numbers.TryGetValue(child, out uint existing))
                {
                    // Hard link: one more name for the same inode.
                    nlinks[(int)existing - 1]++;
                    entries.Add((name, existing));
                }
                else
                {
                    uint ino = checked((uint)inodes.Count + 1);
                    numbers[child] = ino;
                    inodes.Add(child);
                    nlinks.Add(1);
                    entries.Add((name, ino));
                }
            }
        }

        var pool = new MemoryStream();
        uint AddToPool(ReadOnlySpan<byte> bytes)
        {
            uint offset = checked((uint)pool.Length);
            pool.Write(bytes);
            return offset;
        }

        var xattrRecords = new List<byte[]>();
        var inodeTable = new byte[inodes.Count * LayerFormat.InodeSize];
        for (int i = 0; i < inodes.Count; i++)
        {
            var n = inodes[i];
            var r = inodeTable.AsSpan(i * LayerFormat.InodeSize, LayerFormat.InodeSize);
            r[0] = (byte)n.Type;
            r[1] = n.Type == LayerFileType.Directory && n.Opaque ? LayerFormat.FlagOpaque : (byte)0;
            if (n.Xattrs.Count > ushort.MaxValue)
                throw new ArgumentException("too many extended attributes on one file");
            BinaryPrimitives.WriteUInt16LittleEndian(r[2..], (ushort)n.Xattrs.Count);
            BinaryPrimitives.WriteUInt32LittleEndian(r[4..], ModeOf(n));
            BinaryPrimitives.WriteUInt32LittleEndian(r[8..], n.Uid);
            BinaryPrimitives.WriteUInt32LittleEndian(r[12..], n.Gid);
            BinaryPrimitives.WriteUInt32LittleEndian(r[16..], nlinks[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(r[20..], n.MtimeNanoseconds % 1_000_000_000u);
            BinaryPrimitives.WriteInt64LittleEndian(r[24..], n.MtimeSeconds);
            long size = 0;
            ulong data = 0;
            uint data2 = 0;
            switch (n.Type)
            {
                case LayerFileType.Regular:
                    size = n.Size;
                    data = size > 0 ? (ulong)streamOffsets[n] : 0;
                    break;
                case LayerFileType.Directory:
                    var (first, count) = dirFirst[(uint)i + 1];
                    data = first;
                    data2 = count;
                    size = count;
                    break;
                case LayerFileType.Symlink:
                    byte[] target = n.SymlinkTarget ?? throw new ArgumentException("a symlink node has no target");
                    if (target.Length is 0 or > LayerFormat.MaxSymlinkLength || target.AsSpan().IndexOf((byte)0) >= 0)
                        throw new ArgumentException("invalid symlink target");
                    data = AddToPool(target);
                    size = target.Length;
                    break;
                case LayerFileType.CharDevice or LayerFileType.BlockDevice:
                    data = n.Rdev;
                    break;
            }
            BinaryPrimitives.WriteInt64LittleEndian(r[32..], size);
            BinaryPrimitives.WriteUInt64LittleEndian(r[40..], data);
            BinaryPrimitives.WriteUInt32LittleEndian(r[48..], data2);
            BinaryPrimitives.WriteUInt32LittleEndian(r[52..], (uint)xattrRecords.Count);
            foreach (var (name, value) in n.Xattrs)
            {
                if (name.Length is 0 or > LayerFormat.MaxXattrNameLength || value.Length > LayerFormat.MaxXattrValueLength)
                    throw new ArgumentException("invalid extended attribute");
                var x = new byte[LayerFormat.XattrSize];
                BinaryPrimitives.WriteUInt32LittleEndian(x, AddToPool(name));
                BinaryPrimitives.WriteUInt32LittleEndian(x.AsSpan(4), AddToPool(value));
                BinaryPrimitives.WriteUInt16LittleEndian(x.AsSpan(8), (ushort)name.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(x.AsSpan(12), (uint)value.Length);
                xattrRecords.Add(x);
            }
        }

        var entryTable = new byte[entries.Count * LayerFormat.EntrySize];
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entryTable.AsSpan(i * LayerFormat.EntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, AddToPool(entries[i].Name));
            BinaryPrimitives.WriteUInt32LittleEndian(e[4..], entries[i].Ino);
            BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)entries[i].Name.Length);
        }

        var output = new MemoryStream();
        var header = new byte[LayerFormat.MetadataHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, LayerFormat.MetadataMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)inodes.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), (uint)entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)xattrRecords.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(16), (ulong)pool.Length);
        output.Write(header);
        output.Write(inodeTable);
        output.Write(entryTable);
        foreach (var x in xattrRecords)
            output.Write(x);
        pool.Position = 0;
        pool.CopyTo(output);
        if (output.Length > LayerHeader.MaxMetadataSize)
            throw new ArgumentException("the tree is too large for one layer");
        inodeCount = inodes.Count;
        return output.ToArray();
    }

    internal static uint TypeBits(LayerFileType type) => type switch
    {
        LayerFileType.Regular => Stat.S_IFREG,
        LayerFileType.Directory => Stat.S_IFDIR,
        LayerFileType.Symlink => Stat.S_IFLNK,
        LayerFileType.CharDevice or LayerFileType.Whiteout => Stat.S_IFCHR,
        LayerFileType.BlockDevice => Stat.S_IFBLK,
        _ => Stat.S_IFIFO,
    };

    private static uint ModeOf(LayerSourceNode n)
        => TypeBits(n.Type) | (n.Type == LayerFileType.Whiteout ? 0 : n.Permissions & 0xFFF);

    /// <summary>Names the reader would refuse are refused here already.</summary>
    internal static bool IsValidName(ReadOnlySpan<byte> name)
        => name.Length is > 0 and <= LayerFormat.MaxNameLength
           && !name.SequenceEqual("."u8) && !name.SequenceEqual(".."u8)
           && name.IndexOfAny((byte)'/', (byte)0) < 0;

    private static void ValidateName(byte[] name)
    {
        if (!IsValidName(name))
            throw new ArgumentException($"invalid file name '{System.Text.Encoding.UTF8.GetString(name)}'");
    }
}
