using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// An icon's pixels as 8-bit RGBA, the square scaling of the hicolor sizes, and PNG encoding.
/// Written here rather than taken from the imaging library: its processing pipeline and
/// encoders (quantizers, dithering, every resampler) cost about 2 MB of launcher for what is a
/// box filter and a deflate stream; the library only decodes.
/// </summary>
public sealed class IconRaster(int width, int height, byte[] rgba)
{
    public int Width => width;
    public int Height => height;

    /// <summary>
    /// The icon scaled to fit <paramref name="size"/>x<paramref name="size"/>, centred on a
    /// transparent square. Each target pixel averages the source area it covers (weighted by
    /// coverage and by alpha, so transparent pixels lend no colour to the edges); enlarging
    /// repeats source pixels.
    /// </summary>
    public IconRaster Square(int size)
    {
        double scale = Math.Min((double)size / width, (double)size / height);
        int w = Math.Max(1, (int)Math.Round(width * scale)), h = Math.Max(1, (int)Math.Round(height * scale));
        int left = (size - w) / 2, top = (size - h) / 2;
        var output = new byte[size * size * 4];
        double sx = (double)width / w, sy = (double)height / h;
        for (int y = 0; y < h; y++)
        {
            double y0 = y * sy, y1 = Math.Min(height, y0 + sy);
            for (int x = 0; x < w; x++)
            {
                double x0 = x * sx, x1 = Math.Min(width, x0 + sx);
                double r = 0, g = 0, b = 0, a = 0, area = 0;
                for (int py = (int)y0; py < Math.Ceiling(y1); py++)
                {
                    double cy = Math.Min(py + 1, y1) - Math.Max(py, y0);
                    for (int px = (int)x0; px < Math.Ceiling(x1); px++)
                    {
                        double weight = cy * (Math.Min(px + 1, x1) - Math.Max(px, x0));
                        int i = (py * width + px) * 4;
                        double alpha = rgba[i + 3] * weight;
                        r += rgba[i] * alpha;
                        g += rgba[i + 1] * alpha;
                        b += rgba[i + 2] * alpha;
                        a += alpha;
                        area += weight;
                    }
                }
                int o = ((top + y) * size + left + x) * 4;
                if (a > 0)
                {
                    output[o] = (byte)Math.Round(r / a);
                    output[o + 1] = (byte)Math.Round(g / a);
                    output[o + 2] = (byte)Math.Round(b / a);
                    output[o + 3] = (byte)Math.Round(a / area);
                }
            }
        }
        return new IconRaster(size, size, output);
    }

    /// <summary>A PNG file (PNG specification, 3rd edition): 8-bit RGBA, no interlace, filter "none" on every row.</summary>
    public byte[] EncodePng()
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bit depth
        header[9] = 6;  // colour type: RGBA
        WriteChunk(file, "IHDR"u8, header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                for (int y = 0; y < height; y++)
                {
                    zlib.WriteByte(0);
                    zlib.Write(rgba, y * width * 4, width * 4);
                }
            }
            WriteChunk(file, "IDAT"u8, compressed.ToArray());
        }
        WriteChunk(file, "IEND"u8, []);
        return file.ToArray();
    }

    private static void WriteChunk(Stream file, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> field = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(field, data.Length);
        file.Write(field);
        file.Write(type);
        file.Write(data);
        var crc = new Crc32();
        crc.Append(type);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(field, crc.GetCurrentHashAsUInt32());
        file.Write(field);
    }
}
