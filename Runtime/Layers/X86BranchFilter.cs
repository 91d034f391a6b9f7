using System.Buffers.Binary;

namespace FlatImage.Runtime.Layers;

/// <summary>
/// A branch-call-jump filter for x86 code, applied to a block before zstd. A relative
/// CALL (E8) or JMP (E9) to a given function has a different displacement at every call site;
/// turning the displacement into an absolute (block-relative) target makes the calls to one
/// function identical bytes, which the compressor can match. Same idea as xz's x86 BCJ filter,
/// but simplified so that it is its own proof of reversibility:
/// - an E8/E9 byte always consumes the next four bytes, converted or not, so no conversion can
///   touch a byte that decides another one;
/// - only displacements whose top byte is 00 or FF (within ±16 MiB) are converted, and the
///   result is stored as 25 bits with the top byte again 00 or FF, so the decoder sees exactly
///   the same positions as the encoder. Arithmetic is modulo 2^25, so it inverts exactly.
/// </summary>
internal static class X86BranchFilter
{
    public static void Encode(Span<byte> data) => Convert(data, encode: true);

    public static void Decode(Span<byte> data) => Convert(data, encode: false);

    private static void Convert(Span<byte> data, bool encode)
    {
        int end = data.Length - 4;
        int i = 0;
        while (i < end)
        {
            // Most bytes are neither E8 nor E9: a vectorized search skips to the next candidate
            // (the same positions a byte-by-byte scan stops at). Every cold block of an
            // executable is decoded on a run's critical path.
            int next = data[i..end].IndexOfAny((byte)0xE8, (byte)0xE9);
            if (next < 0)
                break;
            i += next;
            byte top = data[i + 4];
            if (top is 0x00 or 0xFF)
            {
                var field = data.Slice(i + 1, 4);
                uint v = (BinaryPrimitives.ReadUInt32LittleEndian(field) & 0xFF_FFFF) | (top == 0xFF ? 1u << 24 : 0);
                uint position = (uint)(i + 5);
                v = (encode ? v + position : v - position) & 0x1FF_FFFF;
                BinaryPrimitives.WriteUInt32LittleEndian(field, (v & 0xFF_FFFF) | ((v & (1u << 24)) != 0 ? 0xFF00_0000u : 0));
            }
            i += 5;
        }
    }
}
