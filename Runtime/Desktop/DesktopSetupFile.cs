using System.Collections.Immutable;
using System.Text.Json;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// The input of <c>fim-desktop setup</c> (docs/cli.md §11.1): <c>name</c>, <c>icon</c>, <c>categories</c>
/// and optional <c>integrations</c>. Read with JsonDocument (no reflection) and checked field by
/// field: the file is the user's, but a hostile one must end in one clear line.
/// </summary>
public sealed record DesktopSetupFile(string Name, string IconSource, ImmutableArray<string> Categories, DesktopItems Items)
{
    /// <summary>Far above any real setup file; bounds what is read into memory.</summary>
    private const int MaxFileBytes = 64 * 1024;

    public static DesktopSetupFile Read(string path)
    {
        byte[] bytes;
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            long length = RandomAccess.GetLength(file);
            if (length > MaxFileBytes)
                throw new DesktopIntegrationException($"File is too large, '{length}' bytes");
            bytes = new byte[length];
            bytes = bytes[..FullRead.At(file, bytes, 0)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DesktopIntegrationException($"Failed to open file '{path}' for desktop integration");
        }
        return Parse(bytes);
    }

    public static DesktopSetupFile Parse(ReadOnlySpan<byte> json)
    {
        if (json.Trim(" \t\r\n"u8).IsEmpty)
            throw new DesktopIntegrationException("Empty json data");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException)
        {
            throw Malformed();
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Malformed();
            string name = String(root, "name") ?? throw Malformed();
            DesktopIntegration.CheckName(name);
            var categories = Strings(root, "categories") ?? throw Malformed();
            foreach (string category in categories)
                DesktopIntegration.CheckCategory(category);
            var items = DesktopItems.None;
            foreach (string word in Strings(root, "integrations") ?? [])
                items |= DesktopItemNames.Parse(word) ?? throw Malformed();
            string icon = root.TryGetProperty("icon", out var iconValue) && iconValue.ValueKind == JsonValueKind.String
                ? iconValue.GetString()!
                : throw new DesktopIntegrationException("Could not retrieve icon path field from json");
            return new DesktopSetupFile(name, icon, [.. categories.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)], items);
        }
    }

    private static DesktopIntegrationException Malformed() => new("Failed to deserialize json");

    private static string? String(JsonElement root, string property) =>
        root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>An array of strings, null when absent; any other shape is malformed.</summary>
    private static List<string>? Strings(JsonElement root, string property)
    {
        if (!root.TryGetProperty(property, out var value))
            return null;
        if (value.ValueKind != JsonValueKind.Array)
            throw Malformed();
        var list = new List<string>();
        foreach (var item in value.EnumerateArray())
            list.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Malformed());
        return list;
    }
}
