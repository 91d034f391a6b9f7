namespace FlatImage.Runtime.Layers;

/// <summary>
/// Record layouts shared by writer and reader. After the header come the compressed data
/// blocks, the block index, then the compressed metadata (all little-endian).
///
/// Block index entry (12 bytes): u32 stored size (bit 31: stored uncompressed because zstd
/// did not shrink it; bit 30: x86 branch filter applied before compression, see
/// <see cref="X86BranchFilter"/>), u64 xxhash64 of the stored bytes. A block's position is the sum of the
/// sizes before it; its uncompressed size is BlockSize, except the last. The checksum is over
/// the stored bytes, so a corrupt block is caught before the decompressor ever sees it.
///
/// Metadata (one zstd frame, checksummed in the header):
/// <code>
/// header  (32): u32 magic "FIMM", u32 inode count, u32 entry count, u32 xattr count, u64 pool size, u64 0
/// inodes  (56 each, inode n at index n-1):
///   0 u8 type  1 u8 flags(1 = opaque dir)  2 u16 xattr count  4 u32 mode  8 u32 uid  12 u32 gid
///  16 u32 nlink  20 u32 mtime ns  24 i64 mtime s  32 i64 size
///  40 u64 data: regular = offset in the data stream (the content is contiguous: whole files are
///     deduplicated, never split into chunk lists); directory = first entry index;
///     symlink = pool offset of the target; device = rdev
///  48 u32 data2: directory = entry count     52 u32 first xattr index
/// entries (12 each, per directory sorted by name bytes): u32 name pool offset, u32 ino, u16 name length, u16 0
/// xattrs  (16 each): u32 name pool offset, u32 value pool offset, u16 name length, u16 0, u32 value length
/// pool: names, symlink targets, xattr names and values
/// </code>
/// </summary>
internal static class LayerFormat
{
    public const int BlockIndexEntrySize = 12;
    public const uint StoredRawFlag = 0x8000_0000u;
    public const uint X86FilterFlag = 0x4000_0000u;
    public const uint StoredSizeMask = 0x3FFF_FFFFu;

    public const uint MetadataMagic = 0x4D4D4946; // "FIMM"
    public const int MetadataHeaderSize = 32;
    public const int InodeSize = 56;
    public const int EntrySize = 12;
    public const int XattrSize = 16;

    public const byte FlagOpaque = 1;

    public const int MaxNameLength = 255;
    public const int MaxSymlinkLength = 4095;
    public const int MaxXattrNameLength = 255;
    public const int MaxXattrValueLength = 65536;
}
