using System.Diagnostics;
using System.Text;
using FlatImage.Runtime.Recipes;

namespace FlatImage.Runtime.Tests.Recipes;

/// <summary>Downloads and whole resolutions against a real HTTP server on 127.0.0.1.</summary>
public sealed class RecipeDownloadTests : IDisposable
{
    private readonly RecipeServer _server = new();
    // The stall timeout has room for a loaded CI machine (two cores, other test classes running):
    // what these tests prove is which limit ends a download, not how fast.
    private readonly RecipeDownloader _downloader = new(TimeSpan.FromSeconds(3));
    private readonly string _data = Directory.CreateTempSubdirectory("fim-recipe-unit-").FullName;

    public void Dispose()
    {
        _downloader.Dispose();
        _server.Dispose();
        Directory.Delete(_data, recursive: true);
    }

    private RecipeRepository Repository() => new($"{_server.BaseUrl}/repo/", "DEBIAN", _data, _downloader);

    private void Recipe(string name, params string[] dependencies) =>
        _server.Text($"/repo/debian/latest/{name}.json",
            $"{{\"description\": \"{name}\", \"packages\": [\"pkg-{name}\"], \"dependencies\": [{string.Join(", ", dependencies.Select(d => $"\"{d}\""))}]}}");

    private string Failure(string path) => Failure(_downloader, path);

    private string Failure(RecipeDownloader downloader, string path)
    {
        var e = Assert.ThrowsAsync<RecipeException>(() => downloader.DownloadAsync(new Uri(_server.BaseUrl + path), CancellationToken.None)).GetAwaiter().GetResult();
        return e.Message;
    }

    private IReadOnlyList<LoadedRecipe> Load(params string[] names) =>
        RecipeGraph.LoadAsync(names, Repository().DownloadAsync, 4, null, CancellationToken.None).GetAwaiter().GetResult();

    [Fact]
    public void Http_failures_are_one_line_naming_the_url()
    {
        string url = _server.BaseUrl;
        _server.Stall("/slow");
        _server.Garbage("/garbage");
        _server.Unannounced("/huge", 3 * 1024 * 1024);
        _server.Announced("/announced", 50L * 1024 * 1024 * 1024);
        _server.Redirect("/loop-a", "/loop-b");
        _server.Redirect("/loop-b", "/loop-a");
        for (int i = 0; i < 8; i++)
            _server.Redirect($"/hop{i}", $"/hop{i + 1}");
        _server.Redirect("/elsewhere", "ftp://127.0.0.1/x.json");

        var clock = Stopwatch.StartNew();
        Assert.Equal($"Could not download '{url}/missing.json': HTTP 404 Not Found", Failure("/missing.json"));
        Assert.Equal($"Could not download '{url}/slow': timed out (no data for 3 s)", Failure("/slow"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the stall took {clock.Elapsed}");
        Assert.StartsWith($"Could not download '{url}/garbage': ", Failure("/garbage"));
        Assert.Equal($"Could not download '{url}/huge': larger than {RecipeParser.MaxBytes} bytes", Failure("/huge"));
        Assert.Equal($"Could not download '{url}/announced': larger than {RecipeParser.MaxBytes} bytes", Failure("/announced"));
        Assert.Equal($"Could not download '{url}/loop-a': redirect loop at '{url}/loop-a'", Failure("/loop-a"));
        Assert.Equal($"Could not download '{url}/hop0': more than {RecipeDownloader.MaxRedirects} redirects", Failure("/hop0"));
        Assert.Equal($"Could not download '{url}/elsewhere': redirected to 'ftp://127.0.0.1/x.json', which is not http or https", Failure("/elsewhere"));
    }

    [Fact]
    public void A_server_that_trickles_is_given_up_on_as_a_whole()
    {
        // A byte every 100 ms is never a stall of 3 s, and never done: the overall deadline (5 s) ends it.
        using var downloader = new RecipeDownloader(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5));
        _server.Trickle("/trickle", TimeSpan.FromMilliseconds(100));
        var clock = Stopwatch.StartNew();
        Assert.Equal($"Could not download '{_server.BaseUrl}/trickle': timed out after 5 s", Failure(downloader, "/trickle"));
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(4.5), $"gave up after {clock.Elapsed}");
    }

    [Fact]
    public void Redirects_are_followed()
    {
        Recipe("target");
        _server.Redirect("/repo/debian/latest/moved.json", "/repo/debian/latest/target.json");
        var body = _downloader.DownloadAsync(new Uri($"{_server.BaseUrl}/repo/debian/latest/moved.json"), CancellationToken.None).GetAwaiter().GetResult();
        Assert.Contains("\"target\"", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public void Resolves_a_diamond_free_graph_each_recipe_once()
    {
        Recipe("xorg", "xkb");
        Recipe("wayland", "xkb");
        Recipe("xkb");
        var loaded = Load("xorg", "wayland");
        Assert.Equal(["xorg", "xkb", "wayland"], loaded.Select(l => l.Recipe.Name));
        Assert.Equal(new Uri($"{_server.BaseUrl}/repo/debian/latest/xkb.json"), loaded[1].DownloadedFrom);
        // xkb was reached twice (once per top-level name) but downloaded once.
        Assert.Single(_server.Requests, r => r == "/repo/debian/latest/xkb.json");
    }

    [Fact]
    public void Cycles_and_diamonds_are_rejected()
    {
        Recipe("a", "b");
        Recipe("b", "a");
        Recipe("top", "left", "right");
        Recipe("left", "bottom");
        Recipe("right", "bottom");
        Recipe("bottom");
        Assert.Equal("Cyclic dependency for recipe 'a'", Assert.Throws<RecipeException>(() => Load("a")).Message);
        Assert.Equal("Cyclic dependency for recipe 'bottom'", Assert.Throws<RecipeException>(() => Load("top")).Message);
    }

    [Fact]
    public void A_deep_chain_resolves()
    {
        const int depth = 60;
        for (int i = 0; i < depth; i++)
        {
            if (i + 1 < depth)
                Recipe($"c{i}", $"c{i + 1}");
            else
                Recipe($"c{i}");
        }
        Assert.Equal(depth, Load("c0").Count);
    }

    [Fact]
    public void A_failure_deep_in_the_graph_is_reported_whichever_download_ends_first()
    {
        Recipe("a", "b", "c");
        Recipe("b");
        _server.Stall("/repo/debian/latest/c.json");
        var e = Assert.Throws<RecipeException>(() => Load("a"));
        Assert.Equal($"Could not download '{_server.BaseUrl}/repo/debian/latest/c.json': timed out (no data for 3 s)", e.Message);
    }

    [Fact]
    public void Downloads_run_in_parallel()
    {
        // Eight dependencies, each held for 700 ms by the server: loaded four at a time, requests overlap.
        var names = Enumerable.Range(0, 8).Select(i => $"slow{i}").ToArray();
        _server.Text("/repo/debian/latest/top.json", $"{{\"description\": \"t\", \"packages\": [], \"dependencies\": [{string.Join(", ", names.Select(n => $"\"{n}\""))}]}}");
        foreach (string name in names)
            _server.Delayed($"/repo/debian/latest/{name}.json", TimeSpan.FromMilliseconds(700), $"{{\"description\": \"{name}\", \"packages\": []}}");
        Assert.Equal(9, Load("top").Count);
        Assert.InRange(_server.MostConcurrentRequests, 2, 4);
    }

    [Fact]
    public void The_cache_is_replaced_whole_and_read_back()
    {
        var repository = Repository();
        string path = repository.Save("gpu", Encoding.UTF8.GetBytes("{\"description\": \"one\", \"packages\": []}"));
        Assert.Equal(Path.Combine(_data, "recipes", "debian", "latest", "gpu.json"), path);
        repository.Save("gpu", Encoding.UTF8.GetBytes("{\"description\": \"two\", \"packages\": []}"));
        Assert.Equal("two", repository.ReadCached("gpu")!.Recipe.Description);
        Assert.Null(repository.ReadCached("absent"));
        Assert.Equal(["gpu.json"], Directory.GetFiles(repository.CacheDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public void A_hostile_distribution_word_cannot_name_a_directory()
    {
        var e = Assert.Throws<RecipeException>(() => new RecipeRepository(_server.BaseUrl, "..", _data, _downloader));
        Assert.Equal("The image's distribution '..' cannot name a recipe directory", e.Message);
    }

    [Fact]
    public void Blueprint_images_have_no_package_manager()
    {
        Assert.Equal("Blueprint does not support recipes", Assert.Throws<RecipeException>(() => PackageManager.Check("BLUEPRINT")).Message);
        var apt = PackageManager.For("DEBIAN", ["curl", "wget"]);
        Assert.Equal(["sh", "-c", "apt-get update && apt-get install -y --no-install-recommends \"$@\"", "fim-recipe", "curl", "wget"], apt.Command.ToArray());
        Assert.Equal("noninteractive", apt.Environment["DEBIAN_FRONTEND"]);
    }
}
