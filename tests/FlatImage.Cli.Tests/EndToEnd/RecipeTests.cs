using System.Text.Json;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// fim-remote's preset and fim-recipe fetch|info|install, run as a user runs them, against a real
/// HTTP server on 127.0.0.1 that this test starts (and that misbehaves on purpose).
/// </summary>
public sealed class RecipeTests : IDisposable
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    private readonly RecipeServer _server = new();

    public void Dispose() => _server.Dispose();

    /// <summary>The repository's own recipes: recipes/debian/latest.</summary>
    private static string RepositoryRecipes => Path.Combine(Launcher.RepositoryRoot, "recipes", "debian", "latest");

    private string Remote => $"{_server.BaseUrl}/r";

    private void Recipe(string distro, string name, string[] packages, params string[] dependencies) =>
        _server.Text($"/r/{distro}/latest/{name}.json", JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["description"] = $"The {name} recipe",
            ["packages"] = packages,
            ["dependencies"] = dependencies,
        }));

    private static string Ok(Identity who, string image, IDictionary<string, string?>? env, params string[] args)
    {
        var result = Launcher.Run(who, image, env, args);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        return result.Stdout;
    }

    private static string Ok(Identity who, string image, params string[] args) => Ok(who, image, null, args);

    private static void Fails(Identity who, string image, string line, params string[] args) => Fails(who, image, null, line, args);

    private static void Fails(Identity who, string image, IDictionary<string, string?>? env, string line, params string[] args)
    {
        var result = Launcher.Run(who, image, env, args);
        Assert.True(result.ExitCode == 125, result.ToString());
        Assert.Equal(line + "\n", result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    private static string Cache(string image, string distro) =>
        Path.Combine(Path.GetDirectoryName(image)!, $".{Path.GetFileName(image)}.data", "recipes", distro, "latest");

    private static string Downloaded(string url, string name, string path) =>
        $"Downloading recipe from '{url}'\nSaving to '{path}'\nSuccessfully downloaded recipe '{name}' to '{path}'\n";

    [Theory]
    [MemberData(nameof(Identities))]
    public void Fetch_downloads_a_recipe_and_its_dependencies_and_info_reads_the_cache(Identity who)
    {
        Recipe("blueprint", "app", ["app-bin", "app-data"], "lib");
        Recipe("blueprint", "lib", ["libfoo1"]);
        string image = Launcher.NewImage(who);
        Assert.Equal($"Set remote URL to '{Remote}/'\n", Ok(who, image, "fim-remote", "set", Remote + "/"));

        string cache = Cache(image, "blueprint");
        Assert.Equal(
            Downloaded($"{Remote}/blueprint/latest/app.json", "app", $"{cache}/app.json") +
            Downloaded($"{Remote}/blueprint/latest/lib.json", "lib", $"{cache}/lib.json"),
            Ok(who, image, "fim-recipe", "fetch", "app"));
        Assert.Equal(["app.json", "lib.json"], Directory.GetFiles(cache).Select(Path.GetFileName).Order());

        int requests = _server.Requests.Count;
        Assert.Equal(
            $"Recipe: app\nLocation: {cache}/app.json\nDescription: The app recipe\nPackage count: 2\nPackages:\n  - app-bin\n  - app-data\nDependencies: 1\n  - lib\n" +
            $"Recipe: lib\nLocation: {cache}/lib.json\nDescription: The lib recipe\nPackage count: 1\nPackages:\n  - libfoo1\nDependencies: 0\n",
            Ok(who, image, "fim-recipe", "info", "app,lib"));
        Assert.Equal(requests, _server.Requests.Count);
        Fails(who, image, "E::fim-recipe::Recipe 'other' not found locally. Use 'fim-recipe fetch other' first.", "fim-recipe", "info", "app,other");

        // fetch always downloads again, and replaces the cached copy.
        Recipe("blueprint", "lib", ["libfoo2"]);
        Ok(who, image, "fim-recipe", "fetch", "lib");
        Assert.Contains("  - libfoo2\n", Ok(who, image, "fim-recipe", "info", "lib"));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Bad_answers_fail_in_one_line_and_the_cache_keeps_its_good_copy(Identity who)
    {
        string image = Launcher.NewImage(who);
        Ok(who, image, "fim-remote", "set", Remote);
        Recipe("blueprint", "keep", ["good"]);
        Ok(who, image, "fim-recipe", "fetch", "keep");
        string cached = Path.Combine(Cache(image, "blueprint"), "keep.json");
        string good = File.ReadAllText(cached);
        string url = $"{Remote}/blueprint/latest/keep.json";
        string path = "/r/blueprint/latest/keep.json";
        var fast = new Dictionary<string, string?> { ["FIM_RECIPE_TIMEOUT"] = "3" };

        var cases = new (Action Serve, string Line)[]
        {
            (() => _server.Text(path, "{\"description\": \"d\", \"packages\": [\"x\"], "), "Could not parse json file"),
            (() => _server.Text(path, "   \n"), "Empty json file"),
            (() => _server.Text(path, "{\"packages\": []}"), "Missing 'description' field"),
            (() => _server.Text(path, "{\"description\": \"d\"}"), "Missing 'packages' field"),
            (() => _server.Text(path, "{\"description\": \"d\", \"packages\": \"curl\"}"), "Field 'packages' of recipe 'keep' is not an array of strings"),
            (() => _server.Text(path, "{\"description\": \"d\", \"packages\": [\"--force-yes\"]}"), "Invalid package name '--force-yes' in recipe 'keep'"),
            (() => _server.Unannounced(path, 2 * 1024 * 1024), $"Could not download '{url}': larger than 1048576 bytes"),
            (() => _server.Stall(path), $"Could not download '{url}': timed out (no data for 3 s)"),
            (() => _server.Garbage(path), $"Could not download '{url}': Received an invalid status line: 'this is not HTTP'."),
            (() => _server.Redirect(path, "/r/elsewhere"), $"Could not download '{url}': HTTP 404 Not Found"),
            (() => { _server.Redirect(path, "/loop"); _server.Redirect("/loop", path); }, $"Could not download '{url}': redirect loop at '{url}'"),
            // A good recipe whose dependency fails: nothing of the set is written.
            (() => Recipe("blueprint", "keep", ["better"], "absent"), $"Could not download '{Remote}/blueprint/latest/absent.json': HTTP 404 Not Found"),
            (() => { Recipe("blueprint", "keep", ["better"], "loop"); Recipe("blueprint", "loop", [], "keep"); }, "Cyclic dependency for recipe 'keep'"),
            (() => { Recipe("blueprint", "keep", [], "left", "right"); Recipe("blueprint", "left", [], "bottom"); Recipe("blueprint", "right", [], "bottom"); Recipe("blueprint", "bottom", []); },
                "Cyclic dependency for recipe 'bottom'"),
        };
        foreach (var (serve, line) in cases)
        {
            serve();
            Fails(who, image, fast, $"E::fim-recipe::{line}", "fim-recipe", "fetch", "keep");
            Assert.Equal(good, File.ReadAllText(cached));
            Assert.Equal(["keep.json"], Directory.GetFiles(Path.GetDirectoryName(cached)!).Select(Path.GetFileName));
        }
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Names_that_leave_the_directory_are_refused_before_any_request(Identity who)
    {
        string image = Launcher.NewImage(who);
        Ok(who, image, "fim-remote", "set", Remote);
        foreach (string name in new[] { "a/b", "..", "../../etc/passwd", "x..y", ".hidden", "-o" })
        {
            Fails(who, image, $"E::fim-recipe::Invalid recipe name '{name}'", "fim-recipe", "fetch", $"gpu,{name}");
            Fails(who, image, $"E::fim-recipe::Invalid recipe name '{name}'", "fim-recipe", "info", name);
        }
        Assert.Empty(_server.Requests);
        Assert.False(Directory.Exists(Cache(image, "blueprint")));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_same_dependency_under_two_top_level_names_and_a_deep_chain_resolve(Identity who)
    {
        Recipe("blueprint", "xorg", ["libx11-6"], "xkb");
        Recipe("blueprint", "wayland", ["libwayland-client0"], "xkb");
        Recipe("blueprint", "xkb", ["xkb-data"]);
        const int depth = 40;
        for (int i = 0; i < depth; i++)
            Recipe("blueprint", $"c{i}", [$"p{i}"], i + 1 < depth ? [$"c{i + 1}"] : []);
        string image = Launcher.NewImage(who);
        Ok(who, image, "fim-remote", "set", Remote);

        string fetched = Ok(who, image, "fim-recipe", "fetch", "xorg,wayland,c0");
        string[] names = fetched.Split('\n').Where(l => l.StartsWith("Successfully", StringComparison.Ordinal)).Select(l => l.Split('\'')[1]).ToArray();
        Assert.Equal(["xorg", "xkb", "wayland", .. Enumerable.Range(0, depth).Select(i => $"c{i}")], names);
        // Reached under two top-level names, downloaded once.
        Assert.Single(_server.Requests, r => r == "/r/blueprint/latest/xkb.json");
        Assert.Contains($"Dependencies: 1\n  - c{depth - 1}\n", Ok(who, image, "fim-recipe", "info", $"c{depth - 2}"));
    }

    [Fact]
    public void A_progress_line_is_drawn_on_a_terminal_and_erased()
    {
        Recipe("blueprint", "app", ["a"], "lib");
        Recipe("blueprint", "lib", ["b"]);
        string image = Launcher.NewImage(Identity.Root);
        Ok(Identity.Root, image, "fim-remote", "set", Remote);
        // script(1) runs the launcher on a pseudo-terminal: stdout and stderr both reach it.
        var result = Launcher.RunProcess("script", ["-qec", $"'{image}' fim-recipe fetch app", "/dev/null"], null, Path.GetDirectoryName(image));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("\rFetching recipes: 2/2\r\x1b[2K", result.Stdout);
        Assert.Contains("Successfully downloaded recipe 'lib'", result.Stdout);
    }

    [Theory]
    [InlineData("C::fim-recipe::Missing op for 'fim-recipe' (<fetch|info|install>)")]
    [InlineData("C::fim-recipe::Invalid recipe operation", "get", "gpu")]
    [InlineData("C::fim-recipe::Invalid recipe operation", "none", "gpu")]
    [InlineData("C::fim-recipe::Missing recipe for operation", "fetch")]
    [InlineData("C::fim-recipe::Recipe argument is empty", "info", "")]
    [InlineData("C::fim-recipe::Recipe argument is empty", "fetch", "gpu,,audio")]
    [InlineData("C::fim-recipe::Trailing arguments for fim-recipe: ['audio',]", "install", "gpu", "audio")]
    public void Usage_errors_get_the_spec_line(string line, params string[] args)
    {
        foreach (var who in new[] { Identity.Root, Identity.User })
            Fails(who, Launcher.NewImage(who), line, ["fim-recipe", .. args]);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_fresh_image_names_the_preset_repository_until_cleared(Identity who)
    {
        string image = Launcher.NewImage(who);
        string shown = Ok(who, image, "fim-remote", "show");
        Assert.Matches("^https?://[^\\s]+\n$", shown);
        Assert.Equal("Cleared remote URL\n", Ok(who, image, "fim-remote", "clear"));
        Fails(who, image, "E::fim-remote::No remote URL configured", "fim-remote", "show");
        Fails(who, image, "E::fim-recipe::No remote URL configured", "fim-recipe", "fetch", "gpu");
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Blueprint_images_refuse_to_install_before_any_request(Identity who)
    {
        string image = Launcher.NewImage(who);
        Ok(who, image, "fim-remote", "set", Remote);
        Fails(who, image, "E::fim-recipe::Blueprint does not support recipes", "fim-recipe", "install", "gpu");
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public void The_repository_recipes_parse_and_resolve_one_by_one_and_all_together()
    {
        // The blueprint reads <remote>/blueprint/latest: serve the Debian recipes there.
        _server.Directory("/r/blueprint/latest", RepositoryRecipes);
        string[] names = Directory.GetFiles(RepositoryRecipes, "*.json").Select(Path.GetFileNameWithoutExtension).Order().ToArray()!;
        Assert.Superset(new HashSet<string> { "xorg", "wayland", "gpu", "audio", "fonts", "locale", "network-tools", "python3" }, names.ToHashSet());
        string image = Launcher.NewImage(Identity.Root);
        Ok(Identity.Root, image, "fim-remote", "set", Remote);
        Ok(Identity.Root, image, "fim-recipe", "fetch", string.Join(',', names));
        string info = Ok(Identity.Root, image, "fim-recipe", "info", string.Join(',', names));
        foreach (string name in names)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRecipes, $"{name}.json")));
            int packages = json.RootElement.GetProperty("packages").GetArrayLength();
            Assert.Contains($"Recipe: {name}\n", info);
            Assert.True(packages > 0, name);
        }
        // Every icon a desktop block names is in the repository.
        foreach (string name in names)
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRecipes, $"{name}.json")));
            if (json.RootElement.TryGetProperty("desktop", out var desktop))
                Assert.True(File.Exists(Path.Combine(RepositoryRecipes, desktop.GetProperty("icon").GetString()!)), name);
        }
    }

    /// <summary>Every package the repository's recipes name, for the checks against bookworm.</summary>
    public static string[] RepositoryPackages() =>
        Directory.GetFiles(RepositoryRecipes, "*.json")
            .SelectMany(f =>
            {
                using var json = JsonDocument.Parse(File.ReadAllText(f));
                return json.RootElement.GetProperty("packages").EnumerateArray().Select(p => p.GetString()!).ToList();
            })
            .Distinct()
            .Order()
            .ToArray();
}
