using System.Collections.Immutable;

namespace FlatImage.Runtime.Recipes;

/// <summary>One recipe file, checked: package and dependency names are usable as they are.</summary>
public sealed record Recipe(
    string Name,
    string Description,
    ImmutableArray<string> Packages,
    ImmutableArray<string> Dependencies,
    RecipeDesktop? Desktop);

/// <summary>
/// A recipe's <c>desktop</c> block: the shape <c>fim-desktop setup</c> reads.
/// <see cref="Json"/> is the block as it was written, for the desktop integration to read itself.
/// </summary>
public sealed record RecipeDesktop(
    string Name,
    string Icon,
    ImmutableArray<string> Categories,
    ImmutableArray<string> Integrations,
    string Json)
{
    /// <summary>
    /// The icon as the desktop integration fetches it: a web address as written, a relative path
    /// resolved against the directory the recipe was downloaded from (the parser refused absolute
    /// and '..' paths); null when it is relative and no remote is configured.
    /// </summary>
    public Uri? IconUrl(Uri? recipeDirectory) =>
        Uri.TryCreate(Icon, UriKind.Absolute, out var absolute) && absolute.Scheme is "http" or "https"
            ? absolute
            : recipeDirectory is null ? null : new Uri(recipeDirectory, Icon);
}
