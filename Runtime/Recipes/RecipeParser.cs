using System.Collections.Immutable;
using System.Text.Json;

namespace FlatImage.Runtime.Recipes;

/// <summary>
/// Reads a recipe file. The bytes come from a remote or from a cache anyone with the
/// data directory may edit: every field is checked for its type, unknown fields are ignored, and
/// the names it carries are checked before they reach a URL, a file name or a package manager's
/// command line.
/// </summary>
public static class RecipeParser
{
    /// <summary>A recipe is a few hundred bytes; anything past this is not a recipe.</summary>
    public const int MaxBytes = 1024 * 1024;

    private const int MaxPackageName = 256;

    private static readonly JsonDocumentOptions Options = new()
    {
        MaxDepth = 16,
        AllowDuplicateProperties = false,
    };

    private static readonly string[] IconExtensions = [".png", ".svg", ".jpg", ".jpeg"];
    private static readonly string[] IntegrationItems = ["entry", "mimetype", "icon"];

    /// <exception cref="RecipeException">with the spec's message for an empty, unparsable or incomplete file.</exception>
    public static Recipe Parse(string name, ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxBytes)
            throw new RecipeException($"Recipe '{name}' is larger than {MaxBytes} bytes");
        if (IsBlank(body))
            throw new RecipeException("Empty json file");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), Options);
        }
        catch (JsonException)
        {
            throw new RecipeException("Could not parse json file");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new RecipeException("Could not parse json file");

            if (!root.TryGetProperty("description", out var description))
                throw new RecipeException("Missing 'description' field");
            if (description.ValueKind != JsonValueKind.String)
                throw new RecipeException($"Field 'description' of recipe '{name}' is not a string");

            if (!root.TryGetProperty("packages", out var packagesElement))
                throw new RecipeException("Missing 'packages' field");
            var packages = Strings(packagesElement, "packages", name);
            foreach (string package in packages)
            {
                if (!IsPackageName(package))
                    throw new RecipeException($"Invalid package name '{Printable.Of(package)}' in recipe '{name}'");
            }

            var dependencies = ImmutableArray<string>.Empty;
            if (root.TryGetProperty("dependencies", out var dependenciesElement))
            {
                dependencies = Strings(dependenciesElement, "dependencies", name);
                foreach (string dependency in dependencies)
                {
                    if (!RecipeName.IsValid(dependency))
                        throw new RecipeException($"Invalid dependency name '{Printable.Of(dependency)}' in recipe '{name}'");
                }
            }

            RecipeDesktop? desktop = root.TryGetProperty("desktop", out var desktopElement) ? Desktop(desktopElement, name) : null;
            return new Recipe(name, description.GetString()!, packages, dependencies, desktop);
        }
    }

    /// <summary>
    /// Package names go to the package manager as arguments: one starting with '-' would be an
    /// option (apt's <c>-o</c> can run commands). Accepted: the characters Debian, Alpine and Arch
    /// names use, plus apt's <c>:arch</c>, <c>=version</c> and <c>/release</c> suffixes.
    /// </summary>
    public static bool IsPackageName(string package) =>
        package.Length is > 0 and <= MaxPackageName
        && char.IsAsciiLetterOrDigit(package[0])
        && package.All(c => char.IsAsciiLetterOrDigit(c) || c is '@' or '.' or '_' or '+' or '-' or ':' or '=' or '~' or '/');

    private static RecipeDesktop Desktop(JsonElement block, string recipe)
    {
        if (block.ValueKind != JsonValueKind.Object)
            throw new RecipeException($"Field 'desktop' of recipe '{recipe}' is not an object");
        if (!block.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || name.GetString()!.Length == 0)
            throw new RecipeException("Failed to deserialize json");
        string app = name.GetString()!;
        if (app.Contains('/'))
            throw new RecipeException("Application name cannot contain the '/' character");
        if (!block.TryGetProperty("icon", out var icon) || icon.ValueKind != JsonValueKind.String || icon.GetString()!.Length == 0)
            throw new RecipeException("Could not retrieve icon path field from json");
        string iconText = CheckIcon(icon.GetString()!, recipe);
        if (!block.TryGetProperty("categories", out var categories) || categories.ValueKind != JsonValueKind.Array)
            throw new RecipeException("Failed to deserialize json");
        var categoryList = ImmutableArray.CreateBuilder<string>();
        foreach (var category in categories.EnumerateArray())
        {
            if (category.ValueKind != JsonValueKind.String)
                throw new RecipeException("Failed to deserialize json");
            categoryList.Add(category.GetString()!);
        }
        var integrations = ImmutableArray.CreateBuilder<string>();
        if (block.TryGetProperty("integrations", out var items))
        {
            if (items.ValueKind != JsonValueKind.Array)
                throw new RecipeException("Failed to deserialize json");
            foreach (var item in items.EnumerateArray())
            {
                string? word = item.ValueKind == JsonValueKind.String ? item.GetString()!.ToLowerInvariant() : null;
                if (word is null || !IntegrationItems.Contains(word))
                    throw new RecipeException("Failed to deserialize json");
                integrations.Add(word);
            }
        }
        return new RecipeDesktop(app, iconText, categoryList.ToImmutable(), integrations.ToImmutable(), block.GetRawText());
    }

    /// <summary>
    /// A recipe's icon is a web address or a path relative to the recipe's own location in the
    /// repository; never a path on this machine. A recipe comes from a remote, and the desktop
    /// integration stores the icon's bytes in the image: an absolute or '..' path would let a
    /// recipe copy a host file into it.
    /// </summary>
    private static string CheckIcon(string icon, string recipe)
    {
        bool web = icon.StartsWith("https://", StringComparison.Ordinal) || icon.StartsWith("http://", StringComparison.Ordinal);
        if (!web && (icon.StartsWith('/') || icon.Split('/').Contains("..") || icon.Contains(':') || icon.Any(char.IsControl)))
            throw new RecipeException($"Icon '{Printable.Of(icon)}' of recipe '{recipe}' is neither a web address nor a path inside the repository");
        string path = web && Uri.TryCreate(icon, UriKind.Absolute, out var uri) ? uri.AbsolutePath : icon;
        string extension = Path.GetExtension(path);
        if (!IconExtensions.Contains(extension, StringComparer.Ordinal))
            throw new RecipeException($"Icon extension '{Printable.Of(extension)}' is not supported");
        return icon;
    }

    private static ImmutableArray<string> Strings(JsonElement element, string field, string recipe)
    {
        if (element.ValueKind != JsonValueKind.Array)
            throw new RecipeException($"Field '{field}' of recipe '{recipe}' is not an array of strings");
        var list = ImmutableArray.CreateBuilder<string>(element.GetArrayLength());
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                throw new RecipeException($"Field '{field}' of recipe '{recipe}' is not an array of strings");
            list.Add(item.GetString()!);
        }
        return list.MoveToImmutable();
    }

    private static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (byte b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                return false;
        }
        return true;
    }
}
