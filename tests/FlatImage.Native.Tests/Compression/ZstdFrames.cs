namespace FlatImage.Native.Tests.Compression;

/// <summary>
/// Frames made by the reference zstd program (1.5.4), not by the code under test:
/// <c>python3 -c "print('The quick brown fox jumps over the lazy dog.\n'*20, end='')" &gt; fox.txt</c>, then
/// <c>zstd -19 --check -c fox.txt</c> and <c>zstd -19 --no-check --no-content-size -c &lt; fox.txt</c>.
/// </summary>
internal static class ZstdFrames
{
    public static byte[] Text => System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog.\n", 20)));

    /// <summary>States its size (900) and carries an XXH64 content checksum.</summary>
    public static byte[] WithSizeAndChecksum => Convert.FromHexString(
        "28b52ffd648402b50100d40254686520717569636b2062726f776e20666f78206a756d7073206f76657220746865206c617a7920646f672e0a0100a50a2b5506bfcb58a6");

    /// <summary>States no size and has no checksum: nothing but the block structure says how long it is.</summary>
    public static byte[] Bare => Convert.FromHexString(
        "28b52ffd0068b50100d40254686520717569636b2062726f776e20666f78206a756d7073206f76657220746865206c617a7920646f672e0a0100a50a2b5506");

    /// <summary>Offset of the frame content size field in <see cref="WithSizeAndChecksum"/> (2 bytes, value − 256).</summary>
    public const int ContentSizeOffset = 5;

    /// <summary>Offset of the first block header in <see cref="Bare"/> (magic, descriptor, window byte).</summary>
    public const int BareBlockHeaderOffset = 6;
}
