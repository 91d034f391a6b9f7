using System.IO.Hashing;
using FlatImage.Native.Compression;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>
/// Edits a layer's metadata and re-seals it (recompress, new checksums, new header), to build
/// layers that pass every checksum but lie in their structure.
/// </summary>
internal static class LayerSurgery
{
    public static byte[] Metadata(byte[] layer)
    {
        if (!LayerHeader.TryRead(layer, out var h))
            throw new InvalidOperationException("not a layer");
        var stored = layer.AsSpan((int)h.MetadataOffset, (int)h.MetadataStoredSize);
        if (!ZstdDecompressor.TryGetContentSize(stored, out ulong size))
            throw new InvalidOperationException("metadata frame states no size");
        var metadata = new byte[size];
        using var d = new ZstdDecompressor();
        if (!d.TryDecompress(stored, metadata))
            throw new InvalidOperationException("metadata does not decompress");
        return metadata;
    }

    public static byte[] WithMetadata(byte[] layer, byte[] metadata)
    {
        LayerHeader.TryRead(layer, out var h);
        byte[] stored;
        using (var c = new ZstdCompressor(3))
            stored = c.Compress(metadata);
        var result = new byte[h.MetadataOffset + stored.Length];
        layer.AsSpan(0, (int)h.MetadataOffset).CopyTo(result);
        stored.CopyTo(result, (int)h.MetadataOffset);
        var header = h with
        {
            TotalSize = result.Length,
            MetadataStoredSize = stored.Length,
            MetadataSize = metadata.Length,
            MetadataChecksum = XxHash64.HashToUInt64(stored),
        };
        header.Write(result);
        return result;
    }

    public static byte[] WithHeader(byte[] layer, Func<LayerHeader, LayerHeader> change)
    {
        LayerHeader.TryRead(layer, out var h);
        var copy = (byte[])layer.Clone();
        change(h).Write(copy);
        return copy;
    }
}
