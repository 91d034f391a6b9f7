using FlatImage.Runtime.Config;
using FlatImage.Runtime.Layers;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Image;

/// <summary>
/// Appends a layer to an image as its new top embedded layer (<c>fim-layer add</c>, <c>commit binary</c>).
///
/// The layer is checked first (header and metadata checksums): a bad embedded layer would hide
/// every layer after it. Under the image's writer lock, the append starts where the chain
/// ends (<see cref="EmbeddedLayers"/>) — bytes left by an interrupted append are overwritten —
/// and is fsynced; only then, still under the lock, does the configuration record the new end
/// of the chain (and the distribution the layers now show), fsynced too. Until that record is
/// written the new bytes are an ignored tail, so a crash at any point leaves the image with its
/// previous layers; after it, the layer is part of the chain and can no longer vanish silently.
/// One lock for both writes: two appends must not both start at the same recorded end.
/// </summary>
public static class LayerAppender
{
    /// <param name="stallMarker">test hook (commit's FIM_TEST_STALL_COMMIT_APPEND): after half the layer, create this file and stall.</param>
    public static void Append(string imagePath, string layerPath, CancellationToken cancellationToken = default, string? stallMarker = null)
    {
        long size = ValidateLayerFile(layerPath);
        using var layer = File.OpenHandle(layerPath, FileMode.Open, FileAccess.Read);
        using var image = ConfigStore.OpenForWriting(imagePath);
        using var held = ConfigStore.Lock(image, imagePath);

        var layout = ImageLayout.Read(image);
        var embedded = EmbeddedLayers.Read(image, layout, imagePath);
        long offset = embedded.End;
        if (!embedded.HasToolsHeader)
        {
            // An image without a tools bundle (a bare launcher straight out of `dotnet publish`;
            // the blueprint has one): reserve the region and write an empty bundle so the chain has a start.
            if (layout.FileLength > layout.ToolsOffset)
                throw new InvalidImageException($"Invalid image '{imagePath}': unknown data after the configuration region");
            RandomAccess.SetLength(image, layout.ToolsOffset);
            RandomAccess.Write(image, ToolsHeader.Empty.ToBytes(), layout.ToolsOffset);
            offset = layout.ToolsOffset + ToolsHeader.Size;
        }

        long lengthBefore = RandomAccess.GetLength(image);
        try
        {
            Copy(layer, image, offset, size, layerPath, cancellationToken, stallMarker);
            // Drop whatever an earlier interrupted append left past the new end.
            if (RandomAccess.GetLength(image) > offset + size)
                RandomAccess.SetLength(image, offset + size);
            ConfigStore.Fsync(image, imagePath);
        }
        catch (IOException)
        {
            // Disk full, most likely. The partial tail would read as a truncated layer and be
            // ignored, but it holds space the user needs back: the image goes back to its old length.
            if (RandomAccess.GetLength(image) > lengthBefore)
                RandomAccess.SetLength(image, lengthBefore);
            throw;
        }

        // The layers change only here, so recording the distribution they show now (FIM_DIST,
        // docs/cli.md §3.16) keeps the stored value true without reading layers on every run.
        IReadOnlyList<LayerSpan> layers = [.. embedded.Layers, new LayerSpan(offset, size)];
        string distribution = ImageDistribution.Detect(imagePath, layers) ?? ImageConfig.Default.Distribution;
        ConfigStore.UpdateLocked(image, imagePath, config => config with { Distribution = distribution, LayersEnd = offset + size });
    }

    private static void Copy(SafeFileHandle layer, SafeFileHandle image, long offset, long size, string layerPath,
        CancellationToken cancellationToken, string? stallMarker)
    {
        var buffer = new byte[1 << 20];
        for (long done = 0; done < size;)
        {
            if (!string.IsNullOrEmpty(stallMarker) && done >= size / 2)
            {
                File.WriteAllText(stallMarker, "stalled");
                Thread.Sleep(Timeout.Infinite);
            }
            cancellationToken.ThrowIfCancellationRequested();
            long chunk = Math.Min(buffer.Length, size - done);
            if (!string.IsNullOrEmpty(stallMarker) && done < size / 2)
                chunk = Math.Min(chunk, size / 2 - done); // stop exactly halfway
            int n = RandomAccess.Read(layer, buffer.AsSpan(0, (int)chunk), done);
            if (n <= 0)
                throw new InvalidImageException($"Layer file '{layerPath}' changed while it was appended");
            RandomAccess.Write(image, buffer.AsSpan(0, n), offset + done);
            done += n;
        }
    }

    /// <summary>Opens the layer fully (header and metadata checksums); returns its size.</summary>
    /// <exception cref="InvalidLayerException">not a valid layer.</exception>
    public static long ValidateLayerFile(string path)
    {
        long size = LayerStack.TryReadStandalone(path) ?? throw new InvalidLayerException(path, "not a layer file");
        using var reader = LayerReader.Open(path, 0, size);
        return size;
    }
}
