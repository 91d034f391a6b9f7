namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>scripts/debian-rootfs.sh's mirror lookup: the archive apt uses here, read as apt reads its sources.</summary>
public sealed class DebianMirrorTests : IDisposable
{
    private readonly string _apt = Launcher.NewDirectory();

    public DebianMirrorTests() => Directory.CreateDirectory(Path.Combine(_apt, "sources.list.d"));

    public void Dispose() => Directory.Delete(_apt, recursive: true);

    [Fact]
    public void Deb822_sources_give_the_release_archive_and_the_security_archive()
    {
        // Sorted first: the archive that carries bookworm wins, not the first one listed.
        Write("sources.list.d/a-nodesource.sources", "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n");
        Write("sources.list.d/debian.sources",
            "Types: deb\n# a comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
            "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n");
        Assert.Equal("http://mirror.example/debian\n", Run("mirror"));
        Assert.Equal("http://mirror.example/debian-security\n", Run("security"));
    }

    [Fact]
    public void One_line_sources_count_and_files_apt_ignores_do_not()
    {
        Write("sources.list", "# deb http://commented.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n");
        Write("sources.list.d/other.list.disabled", "deb http://disabled.example/debian bookworm main\n");
        Assert.Equal("http://one.example/debian\n", Run("mirror"));
        Assert.Equal("", Run("security"));
    }

    [Fact]
    public void Without_sources_it_is_debians_own_archive()
    {
        Assert.Equal("http://deb.debian.org/debian\n", Run("mirror"));
    }

    private void Write(string relative, string text) => File.WriteAllText(Path.Combine(_apt, relative), text);

    private string Run(string what)
    {
        var info = new System.Diagnostics.ProcessStartInfo(Path.Combine(Launcher.RepositoryRoot, "scripts", "debian-rootfs.sh"), [what])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["FIM_APT_ETC"] = _apt;
        using var p = System.Diagnostics.Process.Start(info)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}: {stderr}");
        return stdout;
    }
}
