using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using FlatImage.Runtime.Desktop;

namespace FlatImage.Runtime.Config;

/// <summary>
/// The on-disk JSON shape of <see cref="ImageConfig"/> (source-generated, no reflection).
/// Names are stored as words rather than bits so a newer launcher can read an older image.
/// The bytes come from an untrusted file: unknown words are dropped, wrong types are an error.
/// </summary>
internal sealed class ConfigDocument
{
    [JsonPropertyName("version")] public int Version { get; set; } = 1;
    [JsonPropertyName("distribution")] public string? Distribution { get; set; }
    [JsonPropertyName("permissions")] public List<string>? Permissions { get; set; }
    [JsonPropertyName("unshare")] public List<string>? Unshare { get; set; }
    [JsonPropertyName("overlay")] public string? Overlay { get; set; }
    [JsonPropertyName("casefold")] public bool Casefold { get; set; }
    [JsonPropertyName("notify")] public bool Notify { get; set; }
    [JsonPropertyName("boot")] public BootDocument? Boot { get; set; }
    [JsonPropertyName("environment")] public Dictionary<string, string>? Environment { get; set; }
    [JsonPropertyName("bindings")] public Dictionary<string, BindDocument>? Bindings { get; set; }
    [JsonPropertyName("remote")] public RemoteDocument? Remote { get; set; }
    [JsonPropertyName("desktop")] public DesktopDocument? Desktop { get; set; }
    [JsonPropertyName("layers_end")] public long? LayersEnd { get; set; }

    internal sealed class BootDocument
    {
        [JsonPropertyName("program")] public string? Program { get; set; }
        [JsonPropertyName("args")] public List<string>? Args { get; set; }
    }

    internal sealed class BindDocument
    {
        [JsonPropertyName("type")] public string? Type { get; set; }
        [JsonPropertyName("src")] public string? Src { get; set; }
        [JsonPropertyName("dst")] public string? Dst { get; set; }
    }

    internal sealed class RemoteDocument
    {
        [JsonPropertyName("url")] public string? Url { get; set; }
    }

    internal sealed class DesktopDocument
    {
        [JsonPropertyName("name")] public string? Name { get; set; }
        [JsonPropertyName("categories")] public List<string>? Categories { get; set; }
        [JsonPropertyName("integrations")] public List<string>? Integrations { get; set; }
        [JsonPropertyName("icon_type")] public string? IconType { get; set; }
        /// <summary>The icon file's bytes (base64 in the JSON).</summary>
        [JsonPropertyName("icon")] public byte[]? Icon { get; set; }
    }

    public static byte[] Serialize(ImageConfig config)
    {
        var document = new ConfigDocument
        {
            Distribution = config.Distribution,
            Permissions = ConfigNames.Permissions.Format((ulong)config.Permissions).ToList(),
            Unshare = ConfigNames.Unshare.Format((ulong)config.Unshare).ToList(),
            Overlay = ConfigNames.Format(config.Overlay),
            Casefold = config.Casefold,
            Notify = config.Notify,
            Boot = new BootDocument { Program = config.Boot.Program, Args = config.Boot.Args.ToList() },
            Environment = new Dictionary<string, string>(config.Environment),
            Bindings = config.Bindings.ToDictionary(
                b => b.Key.ToString(System.Globalization.CultureInfo.InvariantCulture),
                b => new BindDocument { Type = ConfigNames.Format(b.Value.Type), Src = b.Value.Source, Dst = b.Value.Destination }),
            Remote = config.RemoteUrl is null ? null : new RemoteDocument { Url = config.RemoteUrl },
            Desktop = config.Desktop is not { } desktop ? null : new DesktopDocument
            {
                Name = desktop.Name,
                Categories = [.. desktop.Categories],
                Integrations = DesktopItemNames.Format(desktop.Items).ToList(),
                IconType = DesktopIconTypes.Format(desktop.IconType),
                Icon = desktop.Icon.ToArray(),
            },
            LayersEnd = config.LayersEnd,
        };
        return JsonSerializer.SerializeToUtf8Bytes(document, ConfigJsonContext.Default.ConfigDocument);
    }

    /// <exception cref="JsonException">the bytes are not a configuration document.</exception>
    public static ImageConfig Deserialize(ReadOnlySpan<byte> json)
    {
        var d = JsonSerializer.Deserialize(json, ConfigJsonContext.Default.ConfigDocument)
            ?? throw new JsonException("configuration is null");
        ulong permissions = 0, unshare = 0;
        foreach (var name in d.Permissions ?? [])
            if (ConfigNames.Permissions.TryParse(name, out var bit)) permissions |= bit;
        foreach (var name in d.Unshare ?? [])
            if (ConfigNames.Unshare.TryParse(name, out var bit)) unshare |= bit;

        var bindings = ImmutableSortedDictionary.CreateBuilder<int, BindEntry>();
        foreach (var (key, b) in d.Bindings ?? [])
        {
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index)
                || b.Src is null || b.Dst is null || ConfigNames.ParseBindType(b.Type ?? "") is not { } type)
                throw new JsonException($"invalid binding '{key}'");
            bindings[index] = new BindEntry(type, b.Src, b.Dst);
        }

        return new ImageConfig
        {
            Distribution = string.IsNullOrEmpty(d.Distribution) ? ImageConfig.Default.Distribution : d.Distribution,
            Permissions = (Permissions)permissions,
            Unshare = (UnshareOptions)unshare,
            Overlay = ConfigNames.ParseOverlay(d.Overlay ?? "") ?? OverlayKind.Bwrap,
            Casefold = d.Casefold,
            Notify = d.Notify,
            Boot = new BootCommand(d.Boot?.Program ?? string.Empty, [.. d.Boot?.Args ?? []]),
            Environment = (d.Environment ?? []).ToImmutableSortedDictionary(StringComparer.Ordinal),
            Bindings = bindings.ToImmutable(),
            RemoteUrl = d.Remote?.Url,
            Desktop = d.Desktop is null ? null : DeserializeDesktop(d.Desktop),
            LayersEnd = d.LayersEnd is < 0 ? throw new JsonException("negative layers_end") : d.LayersEnd,
        };
    }

    /// <summary>
    /// The stored integration is checked as setup checks its input: its name reaches file names and
    /// desktop files at every run, and the image may come from anyone.
    /// </summary>
    private static DesktopIntegration DeserializeDesktop(DesktopDocument d)
    {
        try
        {
            DesktopIntegration.CheckName(d.Name ?? "");
            foreach (string category in d.Categories ?? [])
                DesktopIntegration.CheckCategory(category);
        }
        catch (DesktopIntegrationException e)
        {
            throw new JsonException($"invalid desktop integration: {e.Message}");
        }
        var type = DesktopIconTypes.Parse(d.IconType ?? "") ?? throw new JsonException("invalid desktop integration: unknown icon type");
        var items = DesktopItems.None;
        foreach (string word in d.Integrations ?? [])
            items |= DesktopItemNames.Parse(word) ?? DesktopItems.None;
        return new DesktopIntegration(d.Name!, [.. (d.Categories ?? []).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            items, type, [.. d.Icon ?? []]);
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ConfigDocument))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;
