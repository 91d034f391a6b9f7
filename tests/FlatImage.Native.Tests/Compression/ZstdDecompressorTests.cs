using FlatImage.Native.Compression;

namespace FlatImage.Native.Tests.Compression;

/// <summary>
/// The decompressor's contract: true only for a valid frame that fills the destination exactly;
/// anything else is false (never an exception, never a partly filled buffer reported as good).
/// </summary>
public sealed class ZstdDecompressorTests
{
    [Fact]
    public void Decompresses_a_frame_made_by_the_zstd_program()
    {
        using var d = new ZstdDecompressor();
        foreach (var frame in new[] { ZstdFrames.WithSizeAndChecksum, ZstdFrames.Bare })
        {
            var output = new byte[900];
            Assert.True(d.TryDecompress(frame, output));
            Assert.Equal(ZstdFrames.Text, output);
        }
        Assert.True(ZstdDecompressor.TryGetContentSize(ZstdFrames.WithSizeAndChecksum, out ulong size));
        Assert.Equal(900ul, size);
        Assert.False(ZstdDecompressor.TryGetContentSize(ZstdFrames.Bare, out _));
    }

    [Fact]
    public void A_context_is_reusable_after_a_refused_frame()
    {
        using var d = new ZstdDecompressor();
        var output = new byte[900];
        Assert.False(d.TryDecompress(ZstdFrames.WithSizeAndChecksum.AsSpan(0, 30), output));
        Assert.True(d.TryDecompress(ZstdFrames.WithSizeAndChecksum, output));
        Assert.Equal(ZstdFrames.Text, output);
    }

    [Fact]
    public void Refuses_a_destination_of_another_length_than_the_frame()
    {
        using var d = new ZstdDecompressor();
        foreach (var frame in new[] { ZstdFrames.WithSizeAndChecksum, ZstdFrames.Bare })
        {
            Assert.False(d.TryDecompress(frame, new byte[899]));
            // Longer: libzstd alone would succeed with 900 bytes written; the last one would be stale.
            Assert.False(d.TryDecompress(frame, new byte[901]));
            Assert.False(d.TryDecompress(frame, new byte[4096]));
            Assert.False(d.TryDecompress(frame, []));
        }
    }

    [Fact]
    public void Refuses_a_frame_whose_stated_size_is_not_its_content()
    {
        var frame = ZstdFrames.WithSizeAndChecksum;
        frame[ZstdFrames.ContentSizeOffset] -= 1; // states 899; the blocks still hold 900 bytes
        Assert.True(ZstdDecompressor.TryGetContentSize(frame, out ulong stated));
        Assert.Equal(899ul, stated);
        using var d = new ZstdDecompressor();
        Assert.False(d.TryDecompress(frame, new byte[899]));
        Assert.False(d.TryDecompress(frame, new byte[900]));
    }

    [Fact]
    public void Refuses_a_frame_whose_content_fails_its_checksum()
    {
        var frame = ZstdFrames.WithSizeAndChecksum;
        int at = Array.IndexOf(frame, (byte)'q'); // a literal: the frame still parses, the text differs
        frame[at] = (byte)'Q';
        using var d = new ZstdDecompressor();
        Assert.False(d.TryDecompress(frame, new byte[900]));
    }

    [Fact]
    public void Refuses_a_frame_with_a_damaged_block_header()
    {
        var frame = ZstdFrames.Bare;
        frame[ZstdFrames.BareBlockHeaderOffset] |= 0b110; // block type 3, which the format reserves
        using var d = new ZstdDecompressor();
        Assert.False(d.TryDecompress(frame, new byte[900]));
    }

    [Fact]
    public void Refuses_every_truncation_of_a_frame()
    {
        using var d = new ZstdDecompressor();
        var output = new byte[900];
        foreach (var frame in new[] { ZstdFrames.WithSizeAndChecksum, ZstdFrames.Bare })
            for (int length = 0; length < frame.Length; length++)
                Assert.False(d.TryDecompress(frame.AsSpan(0, length), output), $"accepted the first {length} of {frame.Length} bytes");
    }

    [Fact]
    public void Refuses_bytes_after_the_frame()
    {
        using var d = new ZstdDecompressor();
        byte[] frame = [.. ZstdFrames.WithSizeAndChecksum, 0];
        Assert.False(d.TryDecompress(frame, new byte[900]));
        byte[] twice = [.. ZstdFrames.WithSizeAndChecksum, .. ZstdFrames.WithSizeAndChecksum];
        Assert.False(d.TryDecompress(twice, new byte[900]));
    }

    [Fact]
    public void Refuses_what_is_not_zstd()
    {
        using var d = new ZstdDecompressor();
        var noise = new byte[4096];
        new Random(3).NextBytes(noise);
        foreach (var input in new[] { [], noise, new byte[64], "FIMLAYR1"u8.ToArray() })
        {
            Assert.False(ZstdDecompressor.TryGetContentSize(input, out _));
            Assert.False(d.TryDecompress(input, new byte[900]));
        }
    }
}
