using System.Buffers.Binary;
using System.IO.Hashing;

namespace FlatImage.Runtime.Layers;

/// <summary>
/// The fixed header at offset 0 of every layer. A layer is position-independent: every offset
/// here is relative to the layer's first byte, so layers can be concatenated after the launcher
/// and found by walking <see cref="TotalSize"/> from one header to the next.
///
/// Layout (little-endian, <see cref="Size"/> bytes):
/// <code>
///   0  u8[8] magic "FIMLAYR1"          8 u16 version   10 u16 flags   12 u32 header size
///  16  u64 total size (whole layer)   24 u8 block size log2  25 u8 compression(1 = zstd)
///  26  u8 start profile block size log2 (flag 1 only, else 0)   27 u8 0   28 u32 block count
///  32  u64 data stream length (uncompressed, deduplicated file contents)
///  40  u64 data offset      48 u64 data size (compressed blocks back to back)
///  56  u64 block index offset  64 u64 block index size  72 u64 block index xxhash64
///  80  u64 metadata offset  88 u64 metadata stored size  96 u64 metadata size (uncompressed)  104 u64 metadata xxhash64
/// 112  u64 start profile region length (flag 1 only, else 0)   120 u64 xxhash64 of bytes [0, 120)
/// </code>
/// Flags: bit 0 (<see cref="FlagStartProfile"/>) = the data stream opens with a start profile
/// region: the first <see cref="ProfileLength"/> bytes of the stream are cut into blocks of
/// <see cref="ProfileBlockSize"/>, the rest into blocks of <see cref="BlockSize"/>. Other bits
/// are refused, so a launcher that predates a flag refuses the layer in one line instead of
/// misreading it. A layer without the flag is byte for byte what the format was before it.
/// </summary>
public readonly record struct LayerHeader
{
    public const int Size = 128;
    public const ushort CurrentVersion = 1;
    public const byte CompressionZstd = 1;

    /// <summary>Metadata larger than this is refused rather than allocated (about 5 million inodes).</summary>
    public const long MaxMetadataSize = 512L * 1024 * 1024;

    public const int MinBlockSizeLog2 = 16;
    public const int MaxBlockSizeLog2 = 24;

    /// <summary>The data stream opens with a start profile region (docs/layers.md "Start profile").</summary>
    public const ushort FlagStartProfile = 1;

    /// <summary>Start profile blocks: 4 KiB up to the layer's block size.</summary>
    public const int MinProfileBlockSizeLog2 = 12;

    public static ReadOnlySpan<byte> Magic => "FIMLAYR1"u8;

    public ushort Version { get; init; }
    public long TotalSize { get; init; }
    public int BlockSizeLog2 { get; init; }
    public byte Compression { get; init; }
    public uint BlockCount { get; init; }
    public long StreamLength { get; init; }
    public long DataOffset { get; init; }
    public long DataSize { get; init; }
    public long BlockIndexOffset { get; init; }
    public long BlockIndexSize { get; init; }
    public ulong BlockIndexChecksum { get; init; }
    public long MetadataOffset { get; init; }
    public long MetadataStoredSize { get; init; }
    public long MetadataSize { get; init; }
    public ulong MetadataChecksum { get; init; }

    /// <summary>Log2 of the start profile region's block size; 0 when the layer has no profile.</summary>
    public int ProfileBlockSizeLog2 { get; init; }

    /// <summary>Bytes at the start of the data stream cut into profile blocks; 0 when the layer has no profile.</summary>
    public long ProfileLength { get; init; }

    public int BlockSize => 1 << BlockSizeLog2;

    public bool HasProfile => ProfileLength > 0;

    public int ProfileBlockSize => HasProfile ? 1 << ProfileBlockSizeLog2 : 0;

    /// <summary>Blocks of the start profile region (they come first in the block index).</summary>
    public long ProfileBlockCount => BlocksFor(ProfileLength, ProfileBlockSizeLog2);

    /// <summary>Started blocks of 2^<paramref name="log2"/> bytes in <paramref name="length"/> bytes (no overflow near long.MaxValue).</summary>
    private static long BlocksFor(long length, int log2) => length <= 0 ? 0 : ((length - 1) >> log2) + 1;

    /// <summary>The block holding data stream byte <paramref name="position"/> (in the stream's range) and where in it.</summary>
    public int BlockAt(long position, out int offsetInBlock)
    {
        if (position < ProfileLength)
        {
            offsetInBlock = (int)(position & (ProfileBlockSize - 1));
            return (int)(position >> ProfileBlockSizeLog2);
        }
        long rest = position - ProfileLength;
        offsetInBlock = (int)(rest & (BlockSize - 1));
        return (int)(ProfileBlockCount + (rest >> BlockSizeLog2));
    }

    /// <summary>The uncompressed length of block <paramref name="block"/>: its region's block size, shorter at the end of the region and of the stream.</summary>
    public long BlockLength(long block)
    {
        long profileBlocks = ProfileBlockCount;
        if (block < profileBlocks)
            return Math.Min(ProfileBlockSize, ProfileLength - (block << ProfileBlockSizeLog2));
        return Math.Min(BlockSize, StreamLength - ProfileLength - ((block - profileBlocks) << BlockSizeLog2));
    }

    /// <summary>
    /// Parses and validates a header: magic, version, checksum, and that every section lies
    /// inside [Size, TotalSize) with sizes that agree with each other. Nothing in an
    /// accepted header can make a reader index out of range or allocate more than the layer holds
    /// (metadata is further capped at <see cref="MaxMetadataSize"/>).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> bytes, out LayerHeader header) => Check(bytes, out header) is null;

    /// <summary>
    /// As <see cref="TryRead"/>, saying why a header is refused: null when it is valid, else a
    /// short reason for an error line ("bad magic", "header checksum mismatch", ...).
    /// </summary>
    public static string? Check(ReadOnlySpan<byte> bytes, out LayerHeader header)
    {
        header = default;
        if (bytes.Length < Size)
            return "too short for a layer header";
        if (!bytes[..8].SequenceEqual(Magic))
            return "bad magic";
        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes[120..]) != XxHash64.HashToUInt64(bytes[..120]))
            return "header checksum mismatch";
        var h = new LayerHeader
        {
            Version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]),
            TotalSize = BinaryPrimitives.ReadInt64LittleEndian(bytes[16..]),
            BlockSizeLog2 = bytes[24],
            Compression = bytes[25],
            BlockCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[28..]),
            StreamLength = BinaryPrimitives.ReadInt64LittleEndian(bytes[32..]),
            DataOffset = BinaryPrimitives.ReadInt64LittleEndian(bytes[40..]),
            DataSize = BinaryPrimitives.ReadInt64LittleEndian(bytes[48..]),
            BlockIndexOffset = BinaryPrimitives.ReadInt64LittleEndian(bytes[56..]),
            BlockIndexSize = BinaryPrimitives.ReadInt64LittleEndian(bytes[64..]),
            BlockIndexChecksum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[72..]),
            MetadataOffset = BinaryPrimitives.ReadInt64LittleEndian(bytes[80..]),
            MetadataStoredSize = BinaryPrimitives.ReadInt64LittleEndian(bytes[88..]),
            MetadataSize = BinaryPrimitives.ReadInt64LittleEndian(bytes[96..]),
            MetadataChecksum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[104..]),
            ProfileBlockSizeLog2 = bytes[26],
            ProfileLength = BinaryPrimitives.ReadInt64LittleEndian(bytes[112..]),
        };
        ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(bytes[10..]);
        if (h.Version != CurrentVersion)
            return $"unsupported format version {h.Version}";
        if ((flags & ~FlagStartProfile) != 0
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]) != Size
            || h.Compression != CompressionZstd
            || h.BlockSizeLog2 is < MinBlockSizeLog2 or > MaxBlockSizeLog2)
            return "unsupported header fields";
        if (h.TotalSize < Size || h.StreamLength < 0)
            return "impossible sizes in the header";
        if (bytes[27] != 0)
            return "unsupported header fields";
        if ((flags & FlagStartProfile) == 0)
        {
            // Unprofiled: the profile fields are the zeros every layer had before them.
            if (h.ProfileBlockSizeLog2 != 0 || h.ProfileLength != 0)
                return "start profile fields set without the start profile flag";
        }
        else
        {
            if (h.ProfileBlockSizeLog2 < MinProfileBlockSizeLog2 || h.ProfileBlockSizeLog2 > h.BlockSizeLog2)
                return $"start profile block size out of range (log2 {h.ProfileBlockSizeLog2}, from {MinProfileBlockSizeLog2} to the block size's {h.BlockSizeLog2})";
            if (h.ProfileLength <= 0 || h.ProfileLength > h.StreamLength)
                return $"start profile region out of range ({h.ProfileLength} bytes of a {h.StreamLength}-byte data stream)";
        }
        if (!InRange(h.DataOffset, h.DataSize, h.TotalSize)
            || !InRange(h.BlockIndexOffset, h.BlockIndexSize, h.TotalSize)
            || !InRange(h.MetadataOffset, h.MetadataStoredSize, h.TotalSize))
            return "a section lies outside the layer";
        // One block per started profile block of the profile region and per started BlockSize of
        // the rest of the stream, 12 index bytes per block.
        long expectedBlocks = h.ProfileBlockCount + BlocksFor(h.StreamLength - h.ProfileLength, h.BlockSizeLog2);
        if (h.BlockCount != expectedBlocks && h.HasProfile)
            return $"block count {h.BlockCount} does not match the data size and the start profile region ({expectedBlocks} blocks)";
        if (h.BlockCount != expectedBlocks || h.BlockIndexSize != (long)h.BlockCount * LayerFormat.BlockIndexEntrySize)
            return "block count does not match the data size";
        if (h.MetadataSize is < LayerFormat.MetadataHeaderSize or > MaxMetadataSize || h.MetadataStoredSize <= 0)
            return "impossible metadata size";
        header = h;
        return null;
    }

    private static bool InRange(long offset, long size, long total)
        => offset >= Size && size >= 0 && offset <= total && size <= total - offset;

    /// <summary>Serializes the header, checksum included.</summary>
    public void Write(Span<byte> destination)
    {
        Span<byte> b = destination[..Size];
        b.Clear();
        Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b[10..], HasProfile ? FlagStartProfile : (ushort)0);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], Size);
        BinaryPrimitives.WriteInt64LittleEndian(b[16..], TotalSize);
        b[24] = (byte)BlockSizeLog2;
        b[25] = Compression;
        b[26] = (byte)(HasProfile ? ProfileBlockSizeLog2 : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b[28..], BlockCount);
        BinaryPrimitives.WriteInt64LittleEndian(b[32..], StreamLength);
        BinaryPrimitives.WriteInt64LittleEndian(b[40..], DataOffset);
        BinaryPrimitives.WriteInt64LittleEndian(b[48..], DataSize);
        BinaryPrimitives.WriteInt64LittleEndian(b[56..], BlockIndexOffset);
        BinaryPrimitives.WriteInt64LittleEndian(b[64..], BlockIndexSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b[72..], BlockIndexChecksum);
        BinaryPrimitives.WriteInt64LittleEndian(b[80..], MetadataOffset);
        BinaryPrimitives.WriteInt64LittleEndian(b[88..], MetadataStoredSize);
        BinaryPrimitives.WriteInt64LittleEndian(b[96..], MetadataSize);
        BinaryPrimitives.WriteUInt64LittleEndian(b[104..], MetadataChecksum);
        BinaryPrimitives.WriteInt64LittleEndian(b[112..], HasProfile ? ProfileLength : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(b[120..], XxHash64.HashToUInt64(b[..120]));
    }
}
