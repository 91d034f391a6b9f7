using System.IO.Hashing;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Tools;

/// <summary>
/// The tools bundle of an image (docs/architecture.md "The image file"): the helper tools directory that
/// scripts/collect-tools.sh prepares (bin/, lib/, sbin/), stored as one layer in our own layer
/// format behind a <see cref="ToolsHeader"/>, right after the configuration region. The layer
/// chain starts after it, so the bundle is written at build time, before any layer.
/// </summary>
public static class ToolsBundle
{
    /// <summary>
    /// Gives <paramref name="imagePath"/> (a launcher, with or without its configuration region,
    /// and no layers) the tools in <paramref name="toolsDirectory"/>; returns the header written.
    /// </summary>
    public static ToolsHeader Write(string imagePath, string toolsDirectory, LayerWriterOptions options)
    {
        using var image = ConfigStore.OpenForWriting(imagePath);
        using var held = ConfigStore.Lock(image, imagePath);
        var layout = ImageLayout.Read(image);
        var embedded = EmbeddedLayers.ReadTolerant(image, layout);
        if (embedded.Layers.Count > 0)
            throw new InvalidImageException($"Invalid image '{imagePath}': it has layers already; the tools bundle goes before them");
        if (!embedded.HasToolsHeader && layout.FileLength > layout.ToolsOffset)
            throw new InvalidImageException($"Invalid image '{imagePath}': unknown data after the configuration region");

        string full = Path.GetFullPath(imagePath);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tools-{Environment.ProcessId}.tmp");
        try
        {
            LayerWriter.Create(toolsDirectory, temp, options);
            using var payload = File.OpenHandle(temp, FileMode.Open, FileAccess.Read);
            long size = RandomAccess.GetLength(payload);
            // A bare launcher gets its configuration region here: zeros read as two empty slots.
            RandomAccess.SetLength(image, layout.ToolsOffset + ToolsHeader.Size + size);
            var hash = new XxHash64();
            var buffer = new byte[1 << 20];
            for (long done = 0; done < size;)
            {
                int n = RandomAccess.Read(payload, buffer, done);
                if (n <= 0)
                    throw new IOException($"'{temp}' shrank while it was copied");
                hash.Append(buffer.AsSpan(0, n));
                RandomAccess.Write(image, buffer.AsSpan(0, n), layout.ToolsOffset + ToolsHeader.Size + done);
                done += n;
            }
            var header = new ToolsHeader(size, hash.GetCurrentHashAsUInt64());
            RandomAccess.Write(image, header.ToBytes(), layout.ToolsOffset);
            ConfigStore.Fsync(image, imagePath);
            return header;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>xxhash64 of <paramref name="size"/> bytes at <paramref name="offset"/>, streamed (the payload is megabytes).</summary>
    public static ulong Checksum(SafeFileHandle file, long offset, long size)
    {
        var hash = new XxHash64();
        var buffer = new byte[1 << 20];
        for (long done = 0; done < size;)
        {
            int n = RandomAccess.Read(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - done)), offset + done);
            if (n <= 0)
                break; // a short file cannot match: the caller compares
            hash.Append(buffer.AsSpan(0, n));
            done += n;
        }
        return hash.GetCurrentHashAsUInt64();
    }
}
