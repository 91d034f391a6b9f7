using FlatImage.Runtime.Image;

namespace FlatImage.Runtime.Recipes;

/// <summary>Where a recipe came from when it was loaded: the remote (its URL) or the cache.</summary>
public sealed record LoadedRecipe(Recipe Recipe, byte[] Body, Uri? DownloadedFrom);

/// <summary>
/// The two places a recipe lives: the remote,
/// <c>&lt;remote url without trailing /&gt;/&lt;distro&gt;/latest/&lt;name&gt;.json</c>, and the cache,
/// <c>&lt;data dir&gt;/recipes/&lt;distro&gt;/latest/&lt;name&gt;.json</c>.
/// </summary>
public sealed class RecipeRepository
{
    private readonly string? _remote;
    private readonly RecipeDownloader? _downloader;

    /// <param name="remoteUrl">the configured remote, or null (then only the cache can answer).</param>
    /// <param name="distribution">FIM_DIST; lower-cased into both paths.</param>
    public RecipeRepository(string? remoteUrl, string distribution, string dataDirectory, RecipeDownloader? downloader)
    {
        Distribution = distribution.ToLowerInvariant();
        if (!RecipeName.IsValid(Distribution))
            throw new RecipeException($"The image's distribution '{Printable.Of(distribution)}' cannot name a recipe directory");
        _remote = remoteUrl;
        _downloader = downloader;
        CacheDirectory = Path.Combine(dataDirectory, "recipes", Distribution, "latest");
    }

    public string Distribution { get; }

    public string CacheDirectory { get; }

    public string CachePath(string name) => Path.Combine(CacheDirectory, RecipeName.Check(name) + ".json");

    /// <exception cref="RecipeException"><c>No remote URL configured</c>, or a remote that is not an http(s) URL.</exception>
    public Uri RemoteUrl(string name)
    {
        if (_remote is null)
            throw new RecipeException("No remote URL configured");
        string text = $"{_remote.TrimEnd('/')}/{Distribution}/latest/{RecipeName.Check(name)}.json";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new RecipeException($"The remote URL '{Printable.Of(_remote)}' is not an http or https address");
        return url;
    }

    /// <summary>The base a relative icon path in a recipe is resolved against: the recipe's directory on the remote.</summary>
    public Uri? RecipeDirectoryUrl() =>
        _remote is null ? null : Uri.TryCreate($"{_remote.TrimEnd('/')}/{Distribution}/latest/", UriKind.Absolute, out var url) ? url : null;

    /// <summary>Downloads and parses a recipe; nothing is written.</summary>
    public async Task<LoadedRecipe> DownloadAsync(string name, CancellationToken cancel)
    {
        var url = RemoteUrl(name);
        var downloader = _downloader ?? throw new InvalidOperationException("this repository reads the cache only");
        byte[] body = await downloader.DownloadAsync(url, cancel).ConfigureAwait(false);
        return new LoadedRecipe(RecipeParser.Parse(name, body), body, url);
    }

    /// <summary>The cached recipe, or null when there is none.</summary>
    public LoadedRecipe? ReadCached(string name)
    {
        string path = CachePath(name);
        byte[] body;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
            if (file.Length > RecipeParser.MaxBytes)
                throw new RecipeException($"Recipe '{name}' is larger than {RecipeParser.MaxBytes} bytes");
            body = new byte[file.Length];
            file.ReadExactly(body);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        return new LoadedRecipe(RecipeParser.Parse(name, body), body, null);
    }

    /// <summary>The cached copy when there is one, else a download (fim-recipe install).</summary>
    public async Task<LoadedRecipe> LoadAsync(string name, bool preferCache, CancellationToken cancel) =>
        preferCache && ReadCached(name) is { } cached ? cached : await DownloadAsync(name, cancel).ConfigureAwait(false);

    /// <summary>
    /// Stores a downloaded recipe. Written to a fresh temporary file in the same directory and
    /// renamed over the old one: a reader, or a crash, sees the previous good copy or the new one.
    /// </summary>
    public string Save(string name, byte[] body)
    {
        string path = CachePath(name);
        Directory.CreateDirectory(CacheDirectory);
        string temp = Path.Combine(CacheDirectory, $".{name}.json.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(body);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        return path;
    }
}
