namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// <c>fim-casefold on</c> (docs/cli.md §3.9, §16c) on a busybox image, as root and as an unprivileged
/// user: the container's root ignores case on lookup and keeps the case names were created with,
/// through the real launcher, overlay, casefold mount and sandbox.
/// </summary>
public sealed class CasefoldTests : IDisposable
{
    private readonly List<string> _scratch = new();

    public void Dispose()
    {
        foreach (string dir in _scratch)
            Launcher.RunProcess("rm", ["-rf", "--one-file-system", dir], null, null);
    }

    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    // One run that walks the cases; each line prints what the assertions compare.
    private const string Walk =
        "set -e;"
        + " mkdir -p /Game/Data && echo payload > /Game/Data/File.TXT;"
        + " echo \"read $(cat /game/data/file.txt) $(cat /GAME/DATA/FILE.txt)\";"
        + " echo \"listed $(ls /game/data)\";"
        + " mkdir -p /hElLo/WoRlD && echo \"stat $(stat -c %F /hello/world) $(ls /)\" | tr '\\n' ' ' | grep -o 'stat directory.*hElLo' ; echo;"
        + " mkdir /r && echo r > /r/file.txt && mv /r/file.txt /r/FILE.txt && echo \"renamed $(ls /r) $(cat /r/file.TXT)\";"
        + " mkdir /del && echo d > /del/Note.md && rm /DEL/note.MD && echo \"deleted [$(ls /del)]\" && if [ -e /del/Note.md ]; then echo still-there; fi;"
        + " mkdir /race && for i in $(seq 1 24); do (echo $i >> /race/a &); (echo $i >> /race/A &); done; wait; sleep 1; echo \"race $(ls /race | wc -l)\";"
        + " ln /Game/Data/File.TXT /game/HARD.txt && ln -s Data/File.TXT /game/Soft && echo \"links $(stat -c %h /game/hard.TXT) $(cat /GAME/soft) $(readlink /game/SOFT)\";"
        + " echo created > /Mixed.Case; echo \"root $(ls / | grep -c '^Mixed.Case$')\"";

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_case_insensitive_root_keeps_the_case_names_were_created_with(Identity who)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-casefold", "on"));
        var walk = Run(who, image, "fim-root", "sh", "-c", Walk);
        MustSucceed(walk);
        string o = walk.Stdout;
        Assert.Contains("read payload payload\n", o);
        Assert.Contains("listed File.TXT\n", o);
        Assert.Contains("stat directory", o);
        Assert.Contains("renamed FILE.txt r\n", o);
        Assert.Contains("deleted []\n", o);
        Assert.DoesNotContain("still-there", o);
        Assert.Contains("race 1\n", o);
        Assert.Contains("links 2 payload Data/File.TXT\n", o);
        Assert.Contains("root 1\n", o);
        // The writable layer keeps the names as created.
        string upper = Path.Combine(DataDir(image), "root");
        Assert.True(File.Exists(Path.Combine(upper, "Game", "Data", "File.TXT")), o);
        Assert.True(Directory.Exists(Path.Combine(upper, "hElLo", "WoRlD")));
        Assert.True(File.Exists(Path.Combine(upper, "r", "FILE.txt")));
        Assert.False(File.Exists(Path.Combine(upper, "r", "file.txt")));
        Assert.Single(Directory.GetFiles(Path.Combine(upper, "race")));
        NoMountLeft(image);

        // Off: exact names only, every file still reachable by its stored name. On again: any case.
        MustSucceed(Run(who, image, "fim-casefold", "off"));
        Assert.Equal("payload\n", Run(who, image, "fim-exec", "cat", "/Game/Data/File.TXT").Stdout);
        Assert.NotEqual(0, Run(who, image, "fim-exec", "cat", "/game/data/file.txt").ExitCode);
        // FIM_CASEFOLD=1 turns it on for one run.
        Assert.Equal("payload\n", Run(who, image, new Dictionary<string, string?> { ["FIM_CASEFOLD"] = "1" }, "fim-exec", "cat", "/GAME/DATA/FILE.TXT").Stdout);
        MustSucceed(Run(who, image, "fim-casefold", "on"));
        Assert.Equal("payload\nr\n", Run(who, image, "fim-exec", "cat", "/game/data/file.txt", "/R/FILE.TXT").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_mode_and_the_names_survive_a_commit(Identity who)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-casefold", "on"));
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "mkdir -p /Opt/MyApp && echo v1 > /Opt/MyApp/Config.INI"));
        MustSucceed(Run(who, image, "fim-layer", "commit", "binary"));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(DataDir(image), "root")));
        var after = Run(who, image, "fim-exec", "sh", "-c", "cat /opt/myapp/config.ini; ls /OPT; ls /opt/MYAPP");
        MustSucceed(after);
        Assert.Equal("v1\nMyApp\nConfig.INI\n", after.Stdout);
        // Writing through another case after the commit changes the committed file, not a new one.
        MustSucceed(Run(who, image, "fim-exec", "sh", "-c", "echo v2 > /OPT/MYAPP/CONFIG.ini"));
        Assert.Equal("v2\n", Run(who, image, "fim-exec", "cat", "/Opt/MyApp/Config.INI").Stdout);
        Assert.True(File.Exists(Path.Combine(DataDir(image), "root", "Opt", "MyApp", "Config.INI")));
        Assert.Equal("UNIONFS\n", Run(who, image, "fim-overlay", "show").Stdout);
        NoMountLeft(image);
    }

    private string NewImage(Identity who)
    {
        string image = BusyboxImage.New(who);
        _scratch.Add(Path.GetDirectoryName(image)!);
        return image;
    }

    private RunResult Run(Identity who, string image, params string[] args) => Run(who, image, null, args);

    /// <summary>A runtime directory per image, as CommitTests does, so mounts left behind would be this test's own.</summary>
    private static RunResult Run(Identity who, string image, IDictionary<string, string?>? extra, params string[] args)
    {
        string runtime = Path.Combine(Path.GetDirectoryName(image)!, "xdg-runtime");
        if (!Directory.Exists(runtime))
        {
            Directory.CreateDirectory(runtime);
            File.SetUnixFileMode(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            if (who == Identity.User)
                Launcher.Chown(runtime);
        }
        var env = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime };
        if (extra is not null)
            foreach (var (k, v) in extra)
                env[k] = v;
        return Launcher.Run(who, image, env, args);
    }

    private static void NoMountLeft(string image)
    {
        string mountinfo = File.ReadAllText("/proc/self/mountinfo");
        Assert.DoesNotContain(Path.Combine(DataDir(image), "casefold"), mountinfo);
        Assert.DoesNotContain(Path.GetDirectoryName(image)!, mountinfo);
    }

    private static void MustSucceed(RunResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    private static string DataDir(string image) =>
        Path.Combine(Path.GetDirectoryName(image)!, $".{Path.GetFileName(image)}.data");
}
