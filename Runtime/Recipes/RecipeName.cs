namespace FlatImage.Runtime.Recipes;

/// <summary>
/// Recipe names (and the distribution word) become one URL path segment and one file name in the
/// cache, so they are checked before any request is made: a name with '/' or '..' would leave the
/// repository's directory or the cache. Only the characters package-style names use are accepted.
/// </summary>
public static class RecipeName
{
    public const int MaxLength = 128;

    public static bool IsValid(string name) =>
        name.Length is > 0 and <= MaxLength
        && name[0] != '.' && name[0] != '-'
        && !name.Contains("..", StringComparison.Ordinal)
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '+' or '@');

    /// <exception cref="RecipeException">the name is not usable.</exception>
    public static string Check(string name) =>
        IsValid(name) ? name : throw new RecipeException($"Invalid recipe name '{Printable.Of(name)}'");
}
