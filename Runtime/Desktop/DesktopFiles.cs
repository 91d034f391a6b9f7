using System.Globalization;
using System.Text;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// Where the integration's files go under <c>$XDG_DATA_HOME</c> and what they hold (docs/cli.md §11.2):
/// the desktop entry, the shared-mime-info packages and the hicolor icons. The application's
/// files carry its name; the generic files (the MIME type of every FlatImage file and the product
/// logo) are shared by all images and never removed.
/// </summary>
public sealed class DesktopFiles(string dataHome, string name)
{
    public string DataHome => dataHome;
    public string Name => name;

    public string Applications => Path.Combine(dataHome, "applications");
    public string Entry => Path.Combine(Applications, $"flatimage-{name}.desktop");
    public string MimeRoot => Path.Combine(dataHome, "mime");
    public string MimePackage => Path.Combine(MimeRoot, "packages", $"flatimage-{name}.xml");
    public string GenericMimePackage => Path.Combine(MimeRoot, "packages", "flatimage.xml");
    private string Hicolor => Path.Combine(dataHome, "icons", "hicolor");

    public string AppPng(int size) => Path.Combine(Hicolor, $"{size}x{size}", "apps", $"flatimage_{name}.png");
    public string MimePng(int size) => Path.Combine(Hicolor, $"{size}x{size}", "mimetypes", $"application-flatimage_{name}.png");
    public string AppSvg => Path.Combine(Hicolor, "scalable", "apps", $"flatimage_{name}.svg");
    public string MimeSvg => Path.Combine(Hicolor, "scalable", "mimetypes", $"application-flatimage_{name}.svg");
    public string GenericAppSvg => Path.Combine(Hicolor, "scalable", "apps", "flatimage.svg");
    public string GenericMimeSvg => Path.Combine(Hicolor, "scalable", "mimetypes", "application-flatimage.svg");

    /// <summary>The icon a notification shows: the 64x64 PNG, else the scalable SVG, else none.</summary>
    public string? NotificationIcon => File.Exists(AppPng(64)) ? AppPng(64) : File.Exists(AppSvg) ? AppSvg : null;

    /// <summary>Every file of this application's own (not the generic ones), whatever the icon type.</summary>
    public IEnumerable<string> OwnFiles()
    {
        yield return Entry;
        yield return MimePackage;
        foreach (int size in DesktopIcon.Sizes)
        {
            yield return MimePng(size);
            yield return AppPng(size);
        }
        yield return MimeSvg;
        yield return AppSvg;
    }

    /// <summary><c>$XDG_DATA_HOME</c>, or <c>$HOME/.local/share</c> (XDG Base Directory: a relative value is ignored).</summary>
    public static string? ResolveDataHome()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
            return xdg;
        string? home = Environment.GetEnvironmentVariable("HOME");
        return string.IsNullOrEmpty(home) || !Path.IsPathRooted(home) ? null : Path.Combine(home, ".local", "share");
    }

    /// <summary>
    /// The MIME subtype of the application's files: the name where RFC 6838 allows it, any other
    /// character (a space, say) as '_', because update-mime-database rejects such type names.
    /// </summary>
    public string MimeType => "application/flatimage_" + string.Concat(name.Select(c =>
        char.IsAsciiLetterOrDigit(c) || "!#$&-^_.+".Contains(c) ? c.ToString() : "_"));

    /// <summary>
    /// The desktop entry, without a final newline. <c>Exec</c> quotes the image path by the Desktop
    /// Entry rules (inside double quotes, <c>"</c> <c>`</c> <c>$</c> <c>\</c> are escaped; a literal
    /// <c>%</c> is <c>%%</c>), then the whole value gets the string escapes every value has.
    /// <c>TryExec</c> hides the entry when the file is gone.
    /// </summary>
    public string EntryText(string imagePath, IEnumerable<string> categories)
    {
        var quoted = new StringBuilder("\"");
        foreach (char c in imagePath)
        {
            if (c is '"' or '`' or '$' or '\\')
                quoted.Append('\\');
            quoted.Append(c == '%' ? "%%" : c.ToString());
        }
        quoted.Append('"');
        var text = new StringBuilder();
        text.Append("[Desktop Entry]\n");
        text.Append("Name=").Append(EscapeValue(name)).Append('\n');
        text.Append("Type=Application\n");
        text.Append("Comment=FlatImage distribution of \"").Append(EscapeValue(name)).Append("\"\n");
        text.Append("Exec=").Append(EscapeValue(quoted.ToString())).Append(" %F\n");
        text.Append("TryExec=").Append(EscapeValue(imagePath)).Append('\n');
        text.Append("Icon=flatimage_").Append(EscapeValue(name)).Append('\n');
        text.Append("MimeType=").Append(MimeType).Append(";\n");
        text.Append("Categories=").Append(string.Concat(categories.Select(c => c + ";")));
        return text.ToString();
    }

    /// <summary>The application's shared-mime-info package, ending with a newline: its own type, matched by the image's file name.</summary>
    public string MimePackageText(string imageFileName) => string.Join('\n',
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<mime-info xmlns=\"http://www.freedesktop.org/standards/shared-mime-info\">",
        $"  <mime-type type=\"{Xml(MimeType)}\">",
        "    <comment>FlatImage Application</comment>",
        $"    <glob weight=\"100\" pattern=\"{Xml(imageFileName)}\"/>",
        "    <sub-class-of type=\"application/x-executable\"/>",
        "    <generic-icon name=\"application-flatimage\"/>",
        "  </mime-type>",
        "</mime-info>",
        "");

    /// <summary>
    /// The type of every FlatImage file, by content: the launcher writes 'F', 'I', 1 into the ELF
    /// header's padding (offsets 8-10), so a renamed image is still recognised.
    /// </summary>
    public const string GenericMimePackageText = """
        <?xml version="1.0" encoding="UTF-8"?>
        <mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
          <mime-type type="application/flatimage">
            <comment>FlatImage Application</comment>
            <magic>
              <match value="ELF" type="string" offset="1">
                <match value="0x46" type="byte" offset="8">
                  <match value="0x49" type="byte" offset="9">
                    <match value="0x01" type="byte" offset="10"/>
                  </match>
                </match>
              </match>
            </magic>
            <glob weight="50" pattern="*.flatimage"/>
            <sub-class-of type="application/x-executable"/>
            <generic-icon name="application-flatimage"/>
          </mime-type>
        </mime-info>

        """;

    /// <summary>The product logo for the generic type: three stacked layers on a rounded tile.</summary>
    public const string GenericLogoSvg = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
          <rect x="2" y="2" width="60" height="60" rx="12" fill="#2b4c7e"/>
          <path d="M32 12 L54 22 L32 32 L10 22 Z" fill="#f2f5fa"/>
          <path d="M10 31 L32 41 L54 31 L54 36 L32 46 L10 36 Z" fill="#9fb8dd"/>
          <path d="M10 44 L32 54 L54 44 L54 48 L32 58 L10 48 Z" fill="#6f93c9"/>
        </svg>

        """;

    /// <summary>Desktop Entry string escapes (<c>\\</c>, <c>\n</c>, <c>\t</c>, <c>\r</c>).</summary>
    private static string EscapeValue(string value) => value
        .Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\t", "\\t").Replace("\r", "\\r");

    private static string Xml(string value) => value
        .Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");
}
