using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Image;

/// <summary>
/// The header of the tools bundle that follows the configuration region (helper binaries and
/// the libraries they need; docs/architecture.md "The image file"). The layer chain starts right after
/// the bundle's payload.
/// <code>
/// 0  magic "FIMTOOL1"   8  u64 payload size   16 u64 xxhash64 of the payload   24 u64 xxhash64 of bytes [0, 24)
/// </code>
/// </summary>
public readonly record struct ToolsHeader(long PayloadSize, ulong PayloadChecksum)
{
    public const int Size = 32;
    private static ReadOnlySpan<byte> Magic => "FIMTOOL1"u8;

    public static readonly ToolsHeader Empty = new(0, XxHash64.HashToUInt64([]));

    /// <summary>Reads the header where the bundle starts, right after the configuration region.</summary>
    public static bool TryReadAt(SafeFileHandle file, ImageLayout layout, out ToolsHeader header)
    {
        Span<byte> bytes = stackalloc byte[Size];
        long offset = layout.ToolsOffset;
        int read = offset < layout.FileLength ? RandomAccess.Read(file, bytes, offset) : 0;
        return TryRead(bytes[..read], layout.FileLength - offset, out header);
    }

    public static bool TryRead(ReadOnlySpan<byte> bytes, long bytesAvailableAfter, out ToolsHeader header)
    {
        header = default;
        if (bytes.Length < Size || !bytes[..8].SequenceEqual(Magic))
            return false;
        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]) != XxHash64.HashToUInt64(bytes[..24]))
            return false;
        long size = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
        if (size < 0 || size > bytesAvailableAfter - Size)
            return false;
        header = new ToolsHeader(size, BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]));
        return true;
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Size];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), PayloadSize);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), PayloadChecksum);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), XxHash64.HashToUInt64(bytes.AsSpan(0, 24)));
        return bytes;
    }
}
