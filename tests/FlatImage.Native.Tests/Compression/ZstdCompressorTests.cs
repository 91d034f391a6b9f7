using FlatImage.Native.Compression;

namespace FlatImage.Native.Tests.Compression;

public sealed class ZstdCompressorTests
{
    public static TheoryData<int, int, bool> Settings => new()
    {
        { 1, 20, false },  // the writer's level for blocks of compressed files, 1 MiB window
        { 11, 20, false }, // the default level
        { 19, 0, false },  // metadata: the level's own window
        { 3, 24, true },   // 16 MiB blocks (the tools bundle), long-distance matching
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Round_trips_and_states_the_content_size(int level, int windowLog, bool ldm)
    {
        using var c = new ZstdCompressor(level, windowLog, ldm);
        using var d = new ZstdDecompressor();
        foreach (var input in Inputs())
        {
            byte[] frame = c.Compress(input);
            Assert.True(frame.Length <= ZstdCompressor.CompressBound(input.Length));
            Assert.True(ZstdDecompressor.TryGetContentSize(frame, out ulong size));
            Assert.Equal((ulong)input.Length, size);
            var output = new byte[input.Length];
            Assert.True(d.TryDecompress(frame, output));
            Assert.Equal(input, output);
        }
    }

    [Fact]
    public void Reads_the_reference_frame_after_compressing_it_again()
    {
        using var c = new ZstdCompressor(19);
        byte[] frame = c.Compress(ZstdFrames.Text);
        Assert.True(frame.Length < ZstdFrames.Text.Length / 4);
        var output = new byte[ZstdFrames.Text.Length];
        using var d = new ZstdDecompressor();
        Assert.True(d.TryDecompress(frame, output));
        Assert.Equal(ZstdFrames.Text, output);
    }

    [Fact]
    public void A_destination_that_is_too_small_is_a_ZstdException()
    {
        var noise = new byte[256 * 1024];
        new Random(5).NextBytes(noise);
        using var c = new ZstdCompressor(3);
        var e = Assert.Throws<ZstdException>(() => c.Compress(noise, new byte[noise.Length / 2]));
        Assert.Contains("Destination buffer is too small", e.Message);
        // The context survives the failure.
        Assert.True(c.Compress(noise, new byte[ZstdCompressor.CompressBound(noise.Length)]) > noise.Length / 2);
    }

    [Fact]
    public void A_window_outside_zstds_range_is_a_ZstdException()
    {
        Assert.Throws<ZstdException>(() => new ZstdCompressor(3, windowLog: 40));
        Assert.Throws<ZstdException>(() => new ZstdCompressor(3, windowLog: 5));
    }

    private static IEnumerable<byte[]> Inputs()
    {
        yield return [];
        yield return [42];
        yield return ZstdFrames.Text;
        var noise = new byte[1 << 20];
        new Random(1).NextBytes(noise);
        yield return noise;
        var text = new byte[1 << 20];
        for (int i = 0; i < text.Length; i++)
            text[i] = (byte)"abcdefgh\n"[(i * 7 + i / 4096) % 9];
        yield return text;
    }
}
