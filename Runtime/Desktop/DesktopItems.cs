namespace FlatImage.Runtime.Desktop;

/// <summary>What of the desktop integration is installed under <c>$XDG_DATA_HOME</c> (docs/cli.md §11).</summary>
[Flags]
public enum DesktopItems
{
    None = 0,
    Entry = 1,
    MimeType = 2,
    Icon = 4,
}

/// <summary>The item words, in the one order every listing uses: <c>ENTRY</c>, <c>MIMETYPE</c>, <c>ICON</c>.</summary>
public static class DesktopItemNames
{
    public static readonly IReadOnlyList<(string Name, DesktopItems Item)> All =
    [
        ("entry", DesktopItems.Entry),
        ("mimetype", DesktopItems.MimeType),
        ("icon", DesktopItems.Icon),
    ];

    /// <summary>The item a word names (case-insensitive), or null; <c>none</c> is not an item.</summary>
    public static DesktopItems? Parse(string word)
    {
        foreach (var (name, item) in All)
            if (string.Equals(name, word, StringComparison.OrdinalIgnoreCase))
                return item;
        return null;
    }

    /// <summary>The upper-case words of the items set, in the listing order.</summary>
    public static IEnumerable<string> Format(DesktopItems items) =>
        All.Where(i => (items & i.Item) != 0).Select(i => i.Name.ToUpperInvariant());
}
