using FlatImage.Runtime.Layers;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Image;

/// <summary>
/// Walks the layers embedded in an image: after the tools bundle, each layer's header gives its
/// total size and so the next layer's offset.
///
/// Where the chain ends. <c>fim-layer add</c> and <c>commit binary</c> record the end of the last
/// complete layer in the configuration (<see cref="Config.ImageConfig.LayersEnd"/>) once its bytes
/// are on disk. With that record the walk is strict: every layer before the end must have a
/// valid header and end inside the chain, and a failure is an <see cref="InvalidLayerException"/>
/// naming the layer, because silently stopping there would drop that layer and every one above
/// it (an empty root, if it is the first). Bytes after the end are what an interrupted append
/// left and are ignored. Images written before the end was recorded have none: their walk stops
/// at the first bytes that are not a valid layer header or at a layer that runs past the end of
/// the file, as it always did.
/// </summary>
public sealed record EmbeddedLayers(long ChainOffset, IReadOnlyList<LayerSpan> Layers, long End, bool HasToolsHeader, long FileLength)
{
    /// <summary>Bytes after <see cref="End"/> that are not a complete layer (an interrupted append).</summary>
    public bool HasDamagedTail => FileLength > End && HasToolsHeader;

    /// <summary>
    /// The chain as the image's configuration records it: strict up to the recorded end (see the
    /// type's summary), the old tolerant walk when nothing is recorded. A damaged configuration
    /// records nothing we can trust, so it gets the tolerant walk too; the commands that need the
    /// configuration report the damage themselves.
    /// </summary>
    /// <exception cref="InvalidLayerException">a layer before the recorded end is not valid.</exception>
    public static EmbeddedLayers Read(SafeFileHandle file, ImageLayout layout, string imagePath)
        => Walk(file, layout, ConfigStore.ReadTolerant(file, imagePath, layout).LayersEnd, imagePath);

    /// <summary>
    /// The tolerant walk only, whatever the configuration records: for the tools bundle, which
    /// only asks whether any layer follows it.
    /// </summary>
    public static EmbeddedLayers ReadTolerant(SafeFileHandle file, ImageLayout layout) => Walk(file, layout, null, "");

    private static EmbeddedLayers Walk(SafeFileHandle file, ImageLayout layout, long? recordedEnd, string imagePath)
    {
        long length = layout.FileLength;
        long offset = layout.ToolsOffset;
        Span<byte> head = stackalloc byte[LayerHeader.Size];

        if (!ToolsHeader.TryReadAt(file, layout, out var tools))
            return new EmbeddedLayers(offset, [], offset, HasToolsHeader: false, length);
        offset += ToolsHeader.Size + tools.PayloadSize;
        long chain = offset;
        var layers = new List<LayerSpan>();

        if (recordedEnd is not { } end)
        {
            while (length - offset >= LayerHeader.Size)
            {
                RandomAccess.Read(file, head, offset);
                if (!LayerHeader.TryRead(head, out var header) || header.TotalSize > length - offset)
                    break;
                layers.Add(new LayerSpan(offset, header.TotalSize));
                offset += header.TotalSize;
            }
            return new EmbeddedLayers(chain, layers, offset, HasToolsHeader: true, length);
        }

        if (end < chain)
            throw InvalidLayerException.InStack(imagePath, 0, chain,
                $"the configuration says the layers end at offset {end}, before they start");
        while (offset < end)
        {
            int index = layers.Count;
            InvalidLayerException Bad(string reason) => InvalidLayerException.InStack(imagePath, index, offset, reason);
            if (offset > length - LayerHeader.Size)
                throw Bad($"the file ends at offset {length}, the layers should go on to offset {end}");
            int read = RandomAccess.Read(file, head, offset);
            if (LayerHeader.Check(head[..read], out var header) is { } reason)
                throw Bad(reason);
            if (header.TotalSize > length - offset)
                throw Bad($"truncated: the header says {header.TotalSize} bytes, {length - offset} are there");
            if (header.TotalSize > end - offset)
                throw Bad($"it runs past the end of the layers the configuration records (offset {end})");
            layers.Add(new LayerSpan(offset, header.TotalSize));
            offset += header.TotalSize;
        }
        return new EmbeddedLayers(chain, layers, offset, HasToolsHeader: true, length);
    }
}

/// <summary>Where one layer's bytes lie inside a file.</summary>
public readonly record struct LayerSpan(long Offset, long Size);
