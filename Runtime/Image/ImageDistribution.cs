using System.Text;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Image;

/// <summary>
/// <c>FIM_DIST</c> (docs/cli.md §3.16): the <c>ID</c> of the os-release file (os-release(5)) that the
/// image's embedded layers show at <c>/etc/os-release</c>, else <c>/usr/lib/os-release</c>, upper
/// case — <c>DEBIAN</c> for a debootstrap image, whatever a later layer or commit turned it into.
/// Read straight from the layers, without mounting. <see cref="LayerAppender"/> records it in the
/// configuration whenever the embedded layers change (<c>fim-layer add</c>, <c>commit binary</c>),
/// so runs and <c>fim-version</c> read one stored word instead of decompressing a block on every
/// start. An image without an os-release (the empty blueprint, a bare busybox layer) is
/// <c>BLUEPRINT</c>.
/// Every byte here is untrusted: path walks are bounded, the file is read to a small cap, and the
/// value is reduced to the characters a distribution name uses.
/// </summary>
public static class ImageDistribution
{
    private const int MaxOsReleaseBytes = 64 * 1024;
    private const int MaxNameLength = 32;

    /// <summary>The distribution of the image's embedded layers, or null when they hold no usable os-release.</summary>
    public static string? Detect(string imagePath)
    {
        IReadOnlyList<LayerSpan> layers;
        try
        {
            using var file = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read);
            layers = EmbeddedLayers.Read(file, ImageLayout.Read(file), imagePath).Layers;
        }
        catch (InvalidLayerException)
        {
            return null;
        }
        return Detect(imagePath, layers);
    }

    /// <summary>As <see cref="Detect(string)"/>, for the given embedded layers (bottom first).</summary>
    public static string? Detect(string imagePath, IReadOnlyList<LayerSpan> layers)
    {
        using var files = new LayerStackFiles(layers.Select(l => new LayerLocation(imagePath, l.Offset, l.Size)).ToList());
        try
        {
            foreach (string path in new[] { "/etc/os-release", "/usr/lib/os-release" })
            {
                if (files.Read(path, MaxOsReleaseBytes) is { } text)
                    return ParseId(Encoding.UTF8.GetString(text));
            }
            return null;
        }
        catch (InvalidLayerException)
        {
            // A damaged layer is reported by the commands that use it; here it only means "unknown".
            return null;
        }
    }

    /// <summary>The upper-cased <c>ID=</c> value of an os-release text, or null when it has none usable.</summary>
    public static string? ParseId(string osRelease)
    {
        foreach (string raw in osRelease.Split('\n'))
        {
            string line = raw.Trim();
            if (!line.StartsWith("ID=", StringComparison.Ordinal))
                continue;
            string value = line[3..].Trim().Trim('"', '\'');
            var name = new StringBuilder();
            foreach (char c in value)
            {
                if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')
                    name.Append(char.ToUpperInvariant(c));
            }
            return name.Length is > 0 and <= MaxNameLength ? name.ToString() : null;
        }
        return null;
    }
}
