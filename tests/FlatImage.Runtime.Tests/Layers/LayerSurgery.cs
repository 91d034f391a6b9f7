using System.IO.Hashing;
using FlatImage.Runtime.Layers;
using ZstdSharp;

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
        using var d = new Decompressor();
        return d.Unwrap(layer.AsSpan((int)h.MetadataOffset, (int)h.MetadataStoredSize)).ToArray();
    }

    public static byte[] WithMetadata(byte[] layer, byte[] metadata)
    {
        LayerHeader.TryRead(layer, out var h);
        byte[] stored;
        using (var c = new Compressor(3))
            stored = c.Wrap(metadata).ToArray();
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
