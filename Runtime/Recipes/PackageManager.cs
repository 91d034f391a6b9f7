using System.Collections.Immutable;

namespace FlatImage.Runtime.Recipes;

/// <summary>The package manager's command for one install, and the variables it runs with.</summary>
public sealed record PackageManagerCommand(ImmutableArray<string> Command, ImmutableDictionary<string, string> Environment);

/// <summary>
/// The one command that installs a set of packages as root in the container, per distribution
///. Package names arrive as separate arguments (<c>"$@"</c> for the shell), never as
/// shell text, and were checked by <see cref="RecipeParser.IsPackageName"/>.
/// </summary>
public static class PackageManager
{
    /// <exception cref="RecipeException"><c>Blueprint does not support recipes</c>, or a distribution without a known package manager.</exception>
    public static PackageManagerCommand For(string distribution, IEnumerable<string> packages)
    {
        var none = ImmutableDictionary<string, string>.Empty;
        return distribution.ToUpperInvariant() switch
        {
            "DEBIAN" => new(
                ["sh", "-c", "apt-get update && apt-get install -y --no-install-recommends \"$@\"", "fim-recipe", .. packages],
                none.Add("DEBIAN_FRONTEND", "noninteractive")),
            "ALPINE" => new(["apk", "add", "--no-cache", "--update-cache", "--no-progress", .. packages], none),
            "ARCH" => new(["pacman", "-Syu", "--noconfirm", "--needed", .. packages], none),
            "BLUEPRINT" => throw new RecipeException("Blueprint does not support recipes"),
            _ => throw new RecipeException($"Recipes are not supported for the distribution '{Printable.Of(distribution)}'"),
        };
    }

    /// <summary>Checks the distribution before anything is downloaded.</summary>
    public static void Check(string distribution) => For(distribution, []);
}
