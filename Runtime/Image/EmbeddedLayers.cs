using FlatImage.Runtime.Layers;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Image;

/// <summary>
/// Walks the layers embedded in an image: after the tools bundle, each layer's header gives its
/// total size and so the next layer's offset. The walk stops at the first bytes that are not a
/// valid layer header or at a layer that runs past the end of the file — what an interrupted
/// append leaves — so a damaged tail hides nothing before it.
/// </summary>
public sealed record EmbeddedLayers(long ChainOffset, IReadOnlyList<LayerSpan> Layers, long End, bool HasToolsHeader, long FileLength)
{
    /// <summary>Bytes after <see cref="End"/> that are not a complete layer (an interrupted append).</summary>
    public bool HasDamagedTail => FileLength > End && HasToolsHeader;

    public static EmbeddedLayers Read(SafeFileHandle file, ImageLayout layout)
    {
        long length = layout.FileLength;
        long offset = layout.ToolsOffset;
        Span<byte> head = stackalloc byte[LayerHeader.Size];

        if (!ToolsHeader.TryReadAt(file, layout, out var tools))
            return new EmbeddedLayers(offset, [], offset, HasToolsHeader: false, length);
        offset += ToolsHeader.Size + tools.PayloadSize;
        long chain = offset;

        var layers = new List<LayerSpan>();
        while (length - offset >= LayerHeader.Size)
        {
            RandomAccess.Read(file, head[..LayerHeader.Size], offset);
            if (!LayerHeader.TryRead(head[..LayerHeader.Size], out var header) || header.TotalSize > length - offset)
                break;
            layers.Add(new LayerSpan(offset, header.TotalSize));
            offset += header.TotalSize;
        }
        return new EmbeddedLayers(chain, layers, offset, HasToolsHeader: true, length);
    }
}

/// <summary>Where one layer's bytes lie inside a file.</summary>
public readonly record struct LayerSpan(long Offset, long Size);
