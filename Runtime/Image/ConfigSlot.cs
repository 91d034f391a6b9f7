using System.Buffers.Binary;
using System.IO.Hashing;

namespace FlatImage.Runtime.Image;

/// <summary>
/// One slot of the reserved configuration region:
/// <code>
/// 0   magic     "FIMCFG01"
/// 8   sequence  u64 LE: higher wins
/// 16  length    u32 LE: JSON byte count
/// 20  crc32     u32 LE: CRC-32 of bytes 8..20 and of the JSON
/// 24  JSON
/// </code>
/// Writers always write the slot that does not hold the newest valid configuration, so a write
/// torn by a crash or SIGKILL leaves an invalid slot beside the intact previous one.
/// </summary>
public static class ConfigSlot
{
    public const int HeaderSize = 24;
    public const int MaxPayload = ImageLayout.SlotSize - HeaderSize;
    private static ReadOnlySpan<byte> Magic => "FIMCFG01"u8;

    /// <summary>A slot read back from disk; <see cref="Json"/> is null when the slot is not valid.</summary>
    public readonly record struct Contents(ulong Sequence, byte[]? Json, bool IsEmpty)
    {
        public bool IsValid => Json is not null;
    }

    /// <summary>Validates a slot. Every field is untrusted: a bad magic, length or CRC makes it invalid.</summary>
    public static Contents Decode(ReadOnlySpan<byte> slot)
    {
        if (slot.Length < HeaderSize)
            return new Contents(0, null, IsEmpty: true);
        if (!slot[..8].SequenceEqual(Magic))
            return new Contents(0, null, IsEmpty: !slot[..HeaderSize].ContainsAnyExcept((byte)0));
        ulong sequence = BinaryPrimitives.ReadUInt64LittleEndian(slot[8..]);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(slot[16..]);
        uint crc = BinaryPrimitives.ReadUInt32LittleEndian(slot[20..]);
        if (length > MaxPayload || HeaderSize + (long)length > slot.Length)
            return new Contents(sequence, null, IsEmpty: false);
        ReadOnlySpan<byte> json = slot.Slice(HeaderSize, (int)length);
        if (Checksum(slot[8..20], json) != crc)
            return new Contents(sequence, null, IsEmpty: false);
        return new Contents(sequence, json.ToArray(), IsEmpty: false);
    }

    /// <summary>The JSON length a slot header claims, capped to what a slot can hold (0 for a header that is not ours).</summary>
    public static int ClaimedLength(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderSize || !header[..8].SequenceEqual(Magic))
            return 0;
        return (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(header[16..]), (uint)MaxPayload);
    }

    /// <summary>Builds the bytes of a slot: header followed by the JSON.</summary>
    public static byte[] Encode(ulong sequence, ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxPayload)
            throw new ArgumentException("configuration does not fit in a slot", nameof(json));
        var bytes = new byte[HeaderSize + json.Length];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), (uint)json.Length);
        json.CopyTo(bytes.AsSpan(HeaderSize));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(20), Checksum(bytes.AsSpan(8, 12), json));
        return bytes;
    }

    private static uint Checksum(ReadOnlySpan<byte> header, ReadOnlySpan<byte> json)
    {
        var crc = new Crc32();
        crc.Append(header);
        crc.Append(json);
        return crc.GetCurrentHashAsUInt32();
    }
}
