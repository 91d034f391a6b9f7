using System.Collections.Immutable;
using System.Text;
using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// The application icon: read and checked once by <c>setup</c>, then turned into the hicolor theme's
/// files at every install. Icon bytes are hostile input twice over (the user's file at setup, the
/// image's configuration at every run), so both paths check them the same way: size, type, and
/// the dimensions the header claims before a single pixel is decoded.
/// </summary>
public static class DesktopIcon
{
    /// <summary>The hicolor sizes a raster icon is installed at (docs/cli.md §11.2).</summary>
    public static readonly ImmutableArray<int> Sizes = [16, 22, 24, 32, 48, 64, 96, 128, 256];

    /// <summary>
    /// Largest side accepted. A 1 MiB PNG can claim 65535x65535 pixels (16 GiB decoded); this bound
    /// keeps a decoded icon at 64 MiB at most, which no real icon comes near.
    /// </summary>
    public const int MaxSide = 4096;

    /// <summary>Only the two decoders icons need: nothing else is reachable (or linked).</summary>
    private static readonly Configuration Imaging = new(new PngConfigurationModule(), new JpegConfigurationModule())
    {
        // Icons are small; one thread keeps the decode off the other cores a starting program wants.
        MaxDegreeOfParallelism = 1,
    };

    /// <summary>
    /// Reads and checks the icon file a setup names. The type comes from the extension
    /// (case-sensitive: <c>.png</c>, <c>.jpg</c>, <c>.jpeg</c>, <c>.svg</c>) and must match the content.
    /// </summary>
    /// <param name="shownAs">how error lines name the icon (a downloaded icon by its URL), by default its path.</param>
    public static (DesktopIconType Type, byte[] Bytes) Load(string path, string? shownAs = null)
    {
        shownAs ??= path;
        string extension = Path.GetExtension(path);
        var type = DesktopIconTypes.FromExtension(extension)
            ?? throw new DesktopIntegrationException($"Icon extension '{DesktopIntegration.Printable(extension)}' is not supported");
        int errno = FileStatus.TryStat(Encoding.UTF8.GetBytes(path), out var status);
        if (errno != 0)
            throw new DesktopIntegrationException($"Could not get size of file '{path}': {ErrnoException.StrError(errno)}");
        // A FIFO or a device would block or never end: only regular files are icons.
        if (status.FileType != Stat.S_IFREG)
            throw new DesktopIntegrationException($"Icon '{shownAs}' is not a regular file");
        if (status.Size >= DesktopIntegration.MaxIconBytes)
            throw new DesktopIntegrationException($"File is too large, '{status.Size}' bytes");
        byte[] bytes;
        try
        {
            bytes = ReadAtMost(path, DesktopIntegration.MaxIconBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DesktopIntegrationException($"Could not read icon file '{shownAs}': {e.Message}");
        }
        if (bytes.Length >= DesktopIntegration.MaxIconBytes)
            throw new DesktopIntegrationException($"File is too large, '{bytes.Length}' bytes");
        if (bytes.Length == 0)
            throw new DesktopIntegrationException("Empty icon data");
        Check(type, bytes, $"'{shownAs}'");
        return (type, bytes);
    }

    /// <summary>
    /// Checks that <paramref name="bytes"/> are an icon of <paramref name="type"/>: a raster icon is
    /// decoded in full (after its claimed dimensions passed), an SVG must be an SVG document
    /// without entity declarations (the classic XML expansion bomb, which the host's renderer would meet).
    /// </summary>
    public static void Check(DesktopIconType type, ReadOnlySpan<byte> bytes, string what)
    {
        if (type == DesktopIconType.Svg)
        {
            CheckSvg(bytes, what);
            return;
        }
        using var image = Decode(type, bytes, what);
    }

    /// <summary>The icon as a square PNG of every hicolor size.</summary>
    public static Dictionary<int, byte[]> RenderPngs(DesktopIconType type, ReadOnlySpan<byte> bytes)
    {
        IconRaster raster;
        using (var image = Decode(type, bytes, "stored in the image"))
        {
            var pixels = new Rgba32[image.Width * image.Height];
            image.CopyPixelDataTo(pixels);
            raster = new IconRaster(image.Width, image.Height, System.Runtime.InteropServices.MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray());
        }
        var pngs = new Dictionary<int, byte[]>();
        foreach (int size in Sizes)
            pngs[size] = raster.Square(size).EncodePng();
        return pngs;
    }

    private static Image<Rgba32> Decode(DesktopIconType type, ReadOnlySpan<byte> bytes, string what)
    {
        IImageFormat expected = type == DesktopIconType.Png ? PngFormat.Instance : JpegFormat.Instance;
        string kind = type == DesktopIconType.Png ? "a PNG" : "a JPEG";
        try
        {
            var info = SixLabors.ImageSharp.Image.Identify(Imaging, bytes.ToArray(), out var format);
            if (info is null || format != expected)
                throw new DesktopIntegrationException($"Icon {what} is not {kind} image");
            if (info.Width <= 0 || info.Height <= 0 || info.Width > MaxSide || info.Height > MaxSide)
                throw new DesktopIntegrationException($"Icon {what} has unusable dimensions {info.Width}x{info.Height} (at most {MaxSide}x{MaxSide})");
            var image = SixLabors.ImageSharp.Image.Load<Rgba32>(Imaging, bytes, out format);
            if (format != expected || image.Width != info.Width || image.Height != info.Height)
            {
                image.Dispose();
                throw new DesktopIntegrationException($"Icon {what} is not {kind} image");
            }
            return image;
        }
        catch (Exception e) when (e is ImageFormatException or UnknownImageFormatException or InvalidImageContentException or NotSupportedException or InvalidDataException)
        {
            throw new DesktopIntegrationException($"Icon {what} could not be decoded: {OneLine(e.Message)}");
        }
    }

    private static void CheckSvg(ReadOnlySpan<byte> bytes, string what)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new DesktopIntegrationException($"Icon {what} is not an SVG image");
        }
        if (!text.Contains("<svg", StringComparison.Ordinal))
            throw new DesktopIntegrationException($"Icon {what} is not an SVG image");
        if (text.Contains("<!ENTITY", StringComparison.OrdinalIgnoreCase))
            throw new DesktopIntegrationException($"Icon {what} declares XML entities, which icons do not need");
    }

    private static byte[] ReadAtMost(string path, int limit)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        var buffer = new byte[limit];
        return buffer[..FullRead.At(file, buffer, 0)];
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
