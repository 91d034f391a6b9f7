namespace FlatImage.Native.Compression;

/// <summary>
/// libzstd refused to compress, or could not allocate a context. An <see cref="IOException"/>, so
/// the launcher reports it as one line like any other failure to write a layer. Decompression
/// never throws this: damaged input is a <c>false</c> from <see cref="ZstdDecompressor.TryDecompress"/>.
/// </summary>
public sealed class ZstdException : IOException
{
    public ZstdException(string message) : base(message) { }
}
