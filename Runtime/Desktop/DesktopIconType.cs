namespace FlatImage.Runtime.Desktop;

/// <summary>The stored icon's format: raster icons are resized into the hicolor sizes, SVG is installed as scalable.</summary>
public enum DesktopIconType
{
    Png,
    Jpg,
    Svg,
}

public static class DesktopIconTypes
{
    /// <summary>The word stored in the configuration (and the extension <c>dump icon</c> appends).</summary>
    public static string Format(DesktopIconType type) => type switch
    {
        DesktopIconType.Png => "png",
        DesktopIconType.Jpg => "jpg",
        _ => "svg",
    };

    public static DesktopIconType? Parse(string word) => word switch
    {
        "png" => DesktopIconType.Png,
        "jpg" => DesktopIconType.Jpg,
        "svg" => DesktopIconType.Svg,
        _ => null,
    };

    /// <summary>
    /// The type an icon file's extension names (case-sensitive, as FlatImage), or null. The
    /// extension is what follows the last '.' of the last path segment.
    /// </summary>
    public static DesktopIconType? FromExtension(string extension) => extension switch
    {
        ".png" => DesktopIconType.Png,
        ".jpg" or ".jpeg" => DesktopIconType.Jpg,
        ".svg" => DesktopIconType.Svg,
        _ => null,
    };
}
