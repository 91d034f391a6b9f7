using System.Collections.Immutable;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// The stored desktop integration (docs/cli.md §11.1): the application's name and menu categories, the
/// items to install, and the icon's bytes, which travel inside the image's configuration.
/// </summary>
public sealed record DesktopIntegration(
    string Name,
    ImmutableArray<string> Categories,
    DesktopItems Items,
    DesktopIconType IconType,
    ImmutableArray<byte> Icon)
{
    /// <summary>FlatImage's limits: the JSON part and the icon.</summary>
    public const int MaxJsonBytes = 4 * 1024;
    public const int MaxIconBytes = 1024 * 1024;

    public bool Equals(DesktopIntegration? other) =>
        other is not null && Name == other.Name && Categories.SequenceEqual(other.Categories)
        && Items == other.Items && IconType == other.IconType && Icon.AsSpan().SequenceEqual(other.Icon.AsSpan());

    public override int GetHashCode() => HashCode.Combine(Name, Items, IconType, Icon.Length);

    /// <summary>
    /// The name is part of file names, a MIME type, XML and a desktop entry: no '/', no control
    /// character (a newline would add lines to the entry), not empty.
    /// </summary>
    public static void CheckName(string name)
    {
        if (name.Contains('/'))
            throw new DesktopIntegrationException("Application name cannot contain the '/' character");
        if (name.Length == 0 || name.Trim().Length == 0)
            throw new DesktopIntegrationException("Application name cannot be empty");
        if (name.Any(char.IsControl))
            throw new DesktopIntegrationException("Application name cannot contain control characters");
    }

    /// <summary>A menu category is one token of the entry's <c>Categories=</c> list.</summary>
    public static void CheckCategory(string category)
    {
        if (category.Length == 0 || category.Any(c => c == ';' || c == '\\' || char.IsControl(c) || char.IsWhiteSpace(c)))
            throw new DesktopIntegrationException($"Invalid category '{Printable(category)}'");
    }

    /// <summary>Control characters shown as <c>\xNN</c>, so an error line stays one line.</summary>
    public static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
}
