namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// The Debian image: what it says it is, and the packaging flow of the README (issue #7 part 4),
/// as root and as an unprivileged user — the latter's fim-root is a single-uid user namespace.
/// </summary>
[Collection("run")]
public sealed class DebianImageTests
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    [Theory]
    [MemberData(nameof(Identities))]
    public void Reports_debian_from_its_own_os_release(Identity who)
    {
        string image = DebianImage.New(who);
        var version = Launcher.Run(who, image, "fim-version", "full");
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Contains("  \"DISTRIBUTION\": \"DEBIAN\",\n", version.Stdout);
        var inside = Launcher.Run(who, image, "fim-exec", "sh", "-c", ". /etc/os-release; echo $FIM_DIST $ID $VERSION_CODENAME");
        Assert.Equal("DEBIAN debian bookworm\n", inside.Stdout);
    }

    /// <summary>scripts/build-debian-image.sh records a shell start and builds the layer again with it (docs/cli.md §13.6).</summary>
    [Fact]
    public void Its_layer_opens_with_the_start_profile_of_a_shell()
    {
        string image = DebianImage.New(Identity.Root);
        var list = Launcher.Run(Identity.Root, image, "fim-layer", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        long offset = long.Parse(list.Stdout.Split(':')[1]);
        var header = new byte[128];
        using (var file = File.OpenRead(image))
        {
            file.Position = offset;
            file.ReadExactly(header);
        }
        Assert.Equal(1, header[10]);
        // dash, the dynamic loader and libc at least: more than 2 MB, far less than the tree.
        long region = BitConverter.ToInt64(header, 112);
        Assert.InRange(region, 2_000_000, 20_000_000);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Apt_sources_name_this_machines_mirror(Identity who)
    {
        string image = DebianImage.New(who);
        var sources = Launcher.Run(who, image, "fim-exec", "sh", "-c", "cat /etc/apt/sources.list.d/*.sources; ls /etc/apt/sources.list 2>&1");
        Assert.Contains($"URIs: {DebianImage.Mirror}\n", sources.Stdout);
        Assert.Contains("Suites: bookworm bookworm-updates\n", sources.Stdout);
        Assert.Contains("No such file", sources.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Dpkg_works_under_fim_root_without_the_network(Identity who)
    {
        // The single-uid namespace case without a download: dpkg unpacks a local package (new
        // directories are created with mode 0 first), runs its scripts and records it.
        string image = DebianImage.New(who);
        string script = string.Join("; ",
            "set -e",
            "mkdir -p /tmp/p/DEBIAN /tmp/p/usr/share/fim-probe/sub",
            "printf 'Package: fim-probe\\nVersion: 1\\nArchitecture: all\\nMaintainer: t <t@t>\\nDescription: probe\\n' > /tmp/p/DEBIAN/control",
            "printf '#!/bin/sh\\necho configured > /var/lib/fim-probe\\n' > /tmp/p/DEBIAN/postinst",
            "chmod 755 /tmp/p/DEBIAN/postinst",
            "echo data > /tmp/p/usr/share/fim-probe/sub/file",
            "dpkg-deb --build /tmp/p /tmp/p.deb >/dev/null",
            "dpkg -i /tmp/p.deb >/dev/null",
            "dpkg -s fim-probe | grep Status",
            "cat /var/lib/fim-probe /usr/share/fim-probe/sub/file");
        var result = Launcher.Run(who, image, "fim-root", "sh", "-c", script);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("Status: install ok installed\nconfigured\ndata\n", result.Stdout);
        // The change persists in the writable layer and is there for the next run.
        Assert.Equal("data\n", Launcher.Run(who, image, "fim-exec", "cat", "/usr/share/fim-probe/sub/file").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_packaging_flow_installs_commits_and_boots_hello(Identity who)
    {
        RequireMirror();
        string image = DebianImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "add", "network").ExitCode);
        var install = Launcher.Run(who, image, "fim-root", "sh", "-c", "apt-get update && apt-get install -y hello");
        Assert.True(install.ExitCode == 0, install.ToString());
        // The image's apt configuration fits the single-uid namespace: no sandbox or log-owner warnings.
        Assert.DoesNotContain("unsandboxed", install.Stderr);
        Assert.DoesNotContain("W: chown", install.Stderr);
        Assert.Equal(0, Launcher.Run(who, image, "fim-boot", "set", "hello").ExitCode);
        var commit = Launcher.Run(who, image, "fim-layer", "commit", "binary");
        Assert.True(commit.ExitCode == 0, commit.ToString());
        Assert.Contains("Filesystem appended to binary without errors\n", commit.Stdout);

        // A renamed image has a new (empty) data directory: hello must come from the committed layer.
        string renamed = Path.Combine(dir, "hello.flatimage");
        File.Move(image, renamed);
        var hello = Launcher.Run(who, renamed);
        Assert.True(hello.ExitCode == 0, hello.ToString());
        Assert.Equal("Hello, world!\n", hello.Stdout);
        Assert.Equal("", hello.Stderr);
        Assert.Contains("  \"DISTRIBUTION\": \"DEBIAN\",\n", Launcher.Run(who, renamed, "fim-version", "full").Stdout);
    }

    /// <summary>The packaging flow needs the mirror: an unreachable one is a failure that says so, never a silent pass.</summary>
    internal static void RequireMirror()
    {
        string url = $"{DebianImage.Mirror}/dists/bookworm/InRelease";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        // A mirror can miss one request (a CDN hiccup): asked three times before the test gives up.
        string? failure = null;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                using var response = http.Send(new HttpRequestMessage(HttpMethod.Head, url));
                Assert.True(response.IsSuccessStatusCode, $"the Debian mirror answers {(int)response.StatusCode} for {url}: this test needs the mirror of /etc/apt/sources.list*");
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failure = e.Message;
            }
        }
        Assert.Fail($"the Debian mirror is unreachable ({url}: {failure}): this test needs the mirror of /etc/apt/sources.list*");
    }
}
