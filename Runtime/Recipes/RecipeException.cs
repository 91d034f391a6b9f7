namespace FlatImage.Runtime.Recipes;

/// <summary>
/// A recipe could not be named, fetched, read or resolved. The message is the one line a user
/// sees: it names the recipe or the URL when that helps, and never carries control characters.
/// </summary>
public sealed class RecipeException(string message) : Exception(message);
