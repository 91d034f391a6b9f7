namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// fim-recipe install in the Debian image: the package manager runs once, as root in the
/// container, with the image's permissions, and its status is the command's. Recipes come from a
/// real HTTP server on 127.0.0.1 serving the repository's own recipes/ directory; packages come
/// from this machine's Debian mirror.
/// </summary>
[Collection("run")]
public sealed class RecipeInstallTests : IDisposable
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    private readonly RecipeServer _server = new();

    public RecipeInstallTests()
    {
        _server.Directory("/r/debian/latest", Path.Combine(Launcher.RepositoryRoot, "recipes", "debian", "latest"));
        _server.Text("/r/debian/latest/probe-app.json",
            "{\"description\": \"an app\", \"packages\": [], \"desktop\": {\"name\": \"Probe\", \"icon\": \"icons/xterm.svg\", \"categories\": [\"Utility\"]}}");
        _server.Text("/r/debian/latest/no-such.json", "{\"description\": \"a package bookworm does not have\", \"packages\": [\"fim-no-such-package\"]}");
    }

    public void Dispose() => _server.Dispose();

    private string Remote => $"{_server.BaseUrl}/r";

    private static void Ok(Identity who, string image, params string[] args)
    {
        var result = Launcher.Run(who, image, args);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    /// <summary>
    /// A run that installs 44 packages: dpkg under unionfs-fuse on a loaded two-core machine takes
    /// longer than the minute <see cref="Launcher.Run(Identity, string, string[])"/> allows.
    /// </summary>
    private static RunResult RunLong(Identity who, string image, params string[] args)
    {
        using var process = Launcher.Start(who, image, null, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(600_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the install did not end within 10 minutes");
        }
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_status_is_the_package_managers_and_cached_recipes_are_used(Identity who)
    {
        // Without the network permission apt-get update cannot reach the mirror: apt's own failure status, 100.
        string image = DebianImage.New(who);
        Ok(who, image, "fim-remote", "set", Remote);
        Ok(who, image, "fim-recipe", "fetch", "no-such");
        int requests = _server.Requests.Count;
        var install = Launcher.Run(who, image, "fim-recipe", "install", "no-such");
        Assert.True(install.ExitCode == 100, install.ToString());
        string cached = Path.Combine(Path.GetDirectoryName(image)!, ".app.flatimage.data", "recipes", "debian", "latest", "no-such.json");
        Assert.StartsWith($"Using existing recipe from '{cached}'\n", install.Stdout);
        Assert.Equal(requests, _server.Requests.Count);
        Assert.DoesNotContain("desktop integration", install.Stdout + install.Stderr);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Installs_a_real_recipe_commits_it_and_runs_the_installed_program(Identity who)
    {
        DebianImageTests.RequireMirror();
        string image = DebianImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        Ok(who, image, "fim-remote", "set", Remote);
        Ok(who, image, "fim-perms", "add", "network");

        var install = RunLong(who, image, "fim-recipe", "install", "network-tools,probe-app");
        Assert.True(install.ExitCode == 0, install.ToString());
        string cache = Path.Combine(dir, ".app.flatimage.data", "recipes", "debian", "latest");
        foreach (string name in new[] { "network-tools", "certificates", "probe-app" })
            Assert.Contains($"Successfully downloaded recipe '{name}' to '{cache}/{name}.json'\n", install.Stdout);
        Assert.EndsWith("Found desktop integration in recipe 'probe-app'\n", install.Stdout);
        Assert.EndsWith("W::fim-recipe::Desktop integration from recipe 'probe-app' is not applied: this build has no desktop integration\n", install.Stderr);
        Assert.DoesNotContain("unsandboxed", install.Stderr);

        // The install left bookworm's package lists in the image: every package every recipe of
        // the repository names must be there (a typo or a name from another release fails here);
        // a name bookworm does not have proves the check can tell.
        string[] wanted = [.. RecipeTests.RepositoryPackages(), "fim-no-such-package"];
        var shown = Launcher.Run(who, image, ["fim-exec", "sh", "-c", "apt-cache show --no-all-versions \"$@\" 2>/dev/null | sed -n 's/^Package: //p'", "sh", .. wanted]);
        Assert.True(shown.Stdout.Length > 0, shown.ToString());
        Assert.Equal(["fim-no-such-package"], wanted.Except(shown.Stdout.Split('\n')).ToArray());

        var commit = Launcher.Run(who, image, "fim-layer", "commit", "binary");
        Assert.True(commit.ExitCode == 0, commit.ToString());

        // A renamed image has an empty data directory: the tools come from the committed layer.
        string renamed = Path.Combine(dir, "tools.flatimage");
        File.Move(image, renamed);
        var curl = Launcher.Run(who, renamed, "fim-exec", "curl", "--version");
        Assert.True(curl.ExitCode == 0, curl.ToString());
        Assert.StartsWith("curl 7.", curl.Stdout);
        var tools = Launcher.Run(who, renamed, "fim-exec", "sh", "-c", "for t in wget ip ping dig nc traceroute; do command -v $t >/dev/null || echo missing $t; done; ls /etc/ssl/certs/ca-certificates.crt");
        Assert.Equal("/etc/ssl/certs/ca-certificates.crt\n", tools.Stdout);
    }
}
