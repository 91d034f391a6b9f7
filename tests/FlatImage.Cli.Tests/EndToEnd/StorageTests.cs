namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// The writable overlay and what a commit keeps of it, on each of the three backends
/// (<c>bwrap</c>: the kernel's overlayfs mounted by the bundled bubblewrap; <c>overlayfs</c>:
/// fuse-overlayfs; <c>unionfs</c>: unionfs-fuse), as root and as an unprivileged user. Every
/// change is made in one run and checked from the guest before and after the commit: the next
/// run must see the same tree, now served from the new layer.
/// </summary>
public sealed class StorageTests : IDisposable
{
    private readonly List<string> _scratch = new();
    private readonly List<string> _immutable = new();

    public void Dispose()
    {
        foreach (string path in _immutable)
            Launcher.RunProcess("chattr", ["-i", path], null, null);
        foreach (string dir in _scratch)
            Launcher.RunProcess("rm", ["-rf", "--one-file-system", dir], null, null);
    }

    public static TheoryData<Identity, string> IdentitiesAndOverlays => new()
    {
        { Identity.Root, "bwrap" }, { Identity.Root, "overlayfs" }, { Identity.Root, "unionfs" },
        { Identity.User, "bwrap" }, { Identity.User, "overlayfs" }, { Identity.User, "unionfs" },
    };

    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_kernel_overlay_is_the_default_and_needs_no_overlay_daemon(Identity who)
    {
        string image = NewImage(who, overlay: null);
        Assert.Equal("BWRAP\n", Run(who, image, "fim-overlay", "show").Stdout);
        var run = Run(who, image, "fim-exec", "sh", "-c", "grep ' / / ' /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1; echo written > /home/new; cat /home/new");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("overlay\nwritten\n", run.Stdout);
        Assert.Equal("", run.Stderr);
        Assert.True(File.Exists(Path.Combine(Upper(image), "home", "new")));
    }

    /// <summary>Per commit mode, its own lower file and directory: mode, owner (root only: a single-uid namespace maps no other), mtime, a user xattr.</summary>
    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void Metadata_changes_of_lower_entries_survive_every_commit_mode(Identity who, string overlay)
    {
        string image = NewImage(who, overlay);
        string[] modes = ["binary", "layer", "file"];
        for (int i = 1; i <= modes.Length; i++)
        {
            string f = $"/l/f{i}", d = $"/l/d{i}";
            // unionfs-fuse (Debian's build) has no extended attributes at all: setfattr gets ENOTSUP.
            bool xattrs = overlay != "unionfs";
            // /etc also holds mount points of the sandbox (/etc/passwd): its mode must not come from them.
            string change = (i == 1 ? "chmod 750 /etc && " : "") + $"chmod 640 {f} && chmod 700 {d} && touch -d '2001-02-03 04:05:0{i}' {f} {d}"
                + (who == Identity.Root ? $" && chown 12:34 {f} && chown 56:78 {d}" : "")
                + (xattrs ? $" && {SetXattr} -n user.fim -v value{i} {f} && {SetXattr} -n user.fim -v dir{i} {d}" : "");
            MustSucceed(Run(who, image, "fim-root", "sh", "-c", change));
            string view = $"stat -c '%n %a %u:%g %Y' {f} {d}; stat -c '%n %a' /etc; " + (xattrs ? $"{GetXattr} {f}; {GetXattr} {d}; " : "") + $"cat {f}; ls {d}";
            string before = Output(who, image, view);
            long mtime = new DateTimeOffset(2001, 2, 3, 4, 5, i, TimeSpan.Zero).ToUnixTimeSeconds();
            Assert.Contains($"{f} 640 {(who == Identity.Root ? "12:34" : "0:0")} {mtime}\n", before);
            Assert.Contains($"{d} 700 {(who == Identity.Root ? "56:78" : "0:0")} {mtime}\n", before);
            Assert.Contains("/etc 750\n" + (xattrs ? $"value{i}dir{i}" : "") + $"lower f{i}\nin\n", before);

            Commit(who, image, modes[i - 1]);
            Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
            Assert.Equal(before, Output(who, image, view));
        }
    }

    /// <summary>
    /// <c>/d/a</c> in one commit and <c>/d/b</c> in the next: both show. The second commit is made
    /// while the first layer is not in the stack yet (commit file, added later), so its <c>/d</c> is
    /// new too, and an overlay may mark it opaque; the mark must not reach a layer where nothing
    /// below it was hidden.
    /// </summary>
    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void A_new_directory_committed_twice_shows_both_files(Identity who, string overlay)
    {
        string image = NewImage(who, overlay);
        string dir = Path.GetDirectoryName(image)!;
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "mkdir -p /d && echo a > /d/a && mkdir -p /e && echo a > /e/a"));
        Commit(who, image, "file", Path.Combine(dir, "first.layer"));
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "mkdir -p /d && echo b > /d/b"));
        Commit(who, image, "file", Path.Combine(dir, "second.layer"));
        MustSucceed(Run(who, image, "fim-layer", "add", Path.Combine(dir, "first.layer")));
        MustSucceed(Run(who, image, "fim-layer", "add", Path.Combine(dir, "second.layer")));
        // Then on top of those, in order: a commit layer and a commit binary into /d again.
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "echo c > /d/c && echo b > /e/b"));
        Commit(who, image, "layer");
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "echo d > /d/d"));
        Commit(who, image, "binary");
        Assert.Equal("a\nb\nc\nd\na\nb\n", Output(who, image, "cat /d/a /d/b /d/c /d/d /e/a /e/b"));
    }

    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void Deletes_renames_and_recreated_directories_commit(Identity who, string overlay)
    {
        string image = NewImage(who, overlay);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c",
            "rm /l/f1 && mv /l/f2 /l/f2-renamed && mv /l/d1 /l/d1-renamed && rm -r /l/d2 && mkdir /l/d2 && echo new > /l/d2/new"
            + " && rm -r /l/d3 && echo replaced > /l/d3 && rm /l/f4 && mkdir /l/f4 && echo inside > /l/f4/inside"));
        string view = "ls -a /l /l/d1-renamed /l/d2 /l/f4; cat /l/f2-renamed /l/d1-renamed/in /l/d2/new /l/d3 /l/f4/inside; stat -c '%n %a' /l/d2 /l/f4";
        string before = Output(who, image, view);
        Assert.StartsWith("/l:\n.\n..\nd1-renamed\nd2\nd3\nd4\nf2-renamed\nf3\nf4\n", before);
        Assert.EndsWith("lower f2\nin\nnew\nreplaced\ninside\n/l/d2 755\n/l/f4 755\n", before);
        Commit(who, image, "binary");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal(before, Output(who, image, view));
        // And once more on top: the recreated directory is deleted again, a renamed one renamed back.
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "rm -r /l/d2 && mv /l/d1-renamed /l/d1"));
        string again = Output(who, image, "ls /l; cat /l/d1/in");
        Commit(who, image, "layer");
        Assert.Equal(again, Output(who, image, "ls /l; cat /l/d1/in"));
        Assert.Equal("d1\nd3\nd4\nf2-renamed\nf3\nf4\nin\n", again);
    }

    /// <summary>
    /// A commit whose erase fails part-way (a file the committing user cannot remove: as root an
    /// immutable one, as a user one in a directory root owns) still succeeds: the layer is placed,
    /// the writable layer is empty, each path left behind gets a warning line. The next commit is
    /// not blocked, and once the file can go, a later commit clears it.
    /// </summary>
    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void A_commit_after_an_erase_that_failed_part_way_then_another(Identity who, string overlay)
    {
        string image = NewImage(who, overlay);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "mkdir /junk && echo stuck > /junk/stuck && echo kept > /kept"));
        string stuck = Path.Combine(Upper(image), "junk", "stuck");
        Block(who, stuck);

        var first = Run(who, image, "fim-layer", "commit", "binary");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal("Filesystem appended to binary without errors\nFinished erasing files\n", first.Stdout);
        string tmp = Path.Combine(DataDir(image), "tmp");
        string aside = Assert.Single(Directory.GetDirectories(tmp, "erasing*"));
        // What stays is what lies in the blocked directory: the file, and fuse-overlayfs' own opaque marker next to it.
        var warnings = first.Stderr.Split('\n').Where(l => l.StartsWith("W::") || l.StartsWith("E::")).ToList();
        Assert.Contains($"W::fim-layer::Could not remove file '{Path.Combine(aside, "junk", "stuck")}'", warnings);
        Assert.All(warnings, w => Assert.StartsWith($"W::fim-layer::Could not remove file '{Path.Combine(aside, "junk")}/", w));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal("stuck\nkept\n", Output(who, image, "cat /junk/stuck /kept"));

        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "echo second > /second && rm /kept"));
        var second = Run(who, image, "fim-layer", "commit", "layer");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.EndsWith("Finished erasing files\n", second.Stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal("stuck\nsecond\nkept gone\n", Output(who, image, "cat /junk/stuck /second; [ -e /kept ] || echo kept gone"));

        Unblock(who, Path.Combine(aside, "junk", "stuck"));
        MustSucceed(Run(who, image, "fim-root", "touch", "/third"));
        var third = Run(who, image, "fim-layer", "commit", "binary");
        Assert.True(third.ExitCode == 0, third.ToString());
        Assert.DoesNotContain("W::", third.Stderr);
        Assert.Empty(Directory.GetDirectories(tmp, "erasing*"));
    }

    /// <summary>Makes a file of the writable layer impossible for <paramref name="who"/> to delete.</summary>
    private void Block(Identity who, string path)
    {
        if (who == Identity.Root)
        {
            var chattr = Launcher.RunProcess("chattr", ["+i", path], null, null);
            Assert.True(chattr.ExitCode == 0, chattr.ToString());
            _immutable.Add(path);
            return;
        }
        // The directory becomes root's: the user can no longer remove entries from it.
        var chown = Launcher.RunProcess("chown", ["0:0", Path.GetDirectoryName(path)!], null, null);
        Assert.True(chown.ExitCode == 0, chown.ToString());
    }

    private void Unblock(Identity who, string path)
    {
        if (who == Identity.Root)
        {
            Launcher.RunProcess("chattr", ["-i", path], null, null);
            return;
        }
        Launcher.Chown(Path.GetDirectoryName(path)!);
    }

    // The base layer carries the host's setfattr and getfattr with the libc they need.
    private const string SetXattr = "/usr/bin/setfattr";
    private const string GetXattr = "/usr/bin/getfattr --only-values -n user.fim";

    private static readonly Lazy<string> BaseLayer = new(BuildBaseLayer);

    /// <summary>
    /// busybox, setfattr/getfattr with their loader and libc, and lower entries to change:
    /// <c>/l/f1..f4</c> (files "lower fN") and <c>/l/d1..d4</c> (directories holding a file <c>in</c>).
    /// </summary>
    private static string BuildBaseLayer()
    {
        string dir = Launcher.NewDirectory();
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        string tree = Path.Combine(dir, "tree");
        foreach (string d in new[] { "bin", "etc", "tmp", "root", "home", "usr/bin", "lib64", "lib/x86_64-linux-gnu", "var/tmp", "l" })
            Directory.CreateDirectory(Path.Combine(tree, d));
        File.Copy("/bin/busybox", Path.Combine(tree, "bin", "busybox"));
        foreach (string applet in Launcher.RunProcess("/bin/busybox", ["--list"], null, null).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(a => a != "busybox"))
            File.CreateSymbolicLink(Path.Combine(tree, "bin", applet), "busybox");
        File.Copy("/usr/bin/setfattr", Path.Combine(tree, "usr", "bin", "setfattr"));
        File.Copy("/usr/bin/getfattr", Path.Combine(tree, "usr", "bin", "getfattr"));
        File.Copy("/lib64/ld-linux-x86-64.so.2", Path.Combine(tree, "lib64", "ld-linux-x86-64.so.2"));
        File.Copy("/lib/x86_64-linux-gnu/libc.so.6", Path.Combine(tree, "lib", "x86_64-linux-gnu", "libc.so.6"));
        for (int i = 1; i <= 4; i++)
        {
            File.WriteAllText(Path.Combine(tree, "l", $"f{i}"), $"lower f{i}\n");
            Directory.CreateDirectory(Path.Combine(tree, "l", $"d{i}"));
            File.WriteAllText(Path.Combine(tree, "l", $"d{i}", "in"), "in\n");
        }
        string layer = Path.Combine(dir, "base.layer");
        string builder = Launcher.NewImage(Identity.Root, "builder.flatimage");
        var create = Launcher.Run(Identity.Root, builder, "fim-layer", "create", tree, layer);
        if (create.ExitCode != 0)
            throw new InvalidOperationException($"fim-layer create failed: {create}");
        File.SetUnixFileMode(layer, (UnixFileMode)0b110_100_100);
        return layer;
    }

    /// <summary>A fresh image with the base layer; <paramref name="overlay"/> stored with fim-overlay set (null: the default).</summary>
    private string NewImage(Identity who, string? overlay)
    {
        string image = Launcher.NewImage(who);
        _scratch.Add(Path.GetDirectoryName(image)!);
        MustSucceed(Run(who, image, "fim-layer", "add", BaseLayer.Value));
        if (overlay is not null)
            MustSucceed(Run(who, image, "fim-overlay", "set", overlay));
        return image;
    }

    private void Commit(Identity who, string image, string mode, string? file = null)
    {
        if (mode != "file")
        {
            var commit = Run(who, image, "fim-layer", "commit", mode);
            MustSucceed(commit);
            Assert.EndsWith("Finished erasing files\n", commit.Stdout);
            Assert.DoesNotContain("W::", commit.Stderr);
            return;
        }
        file ??= Path.Combine(Path.GetDirectoryName(image)!, $"commit-{Guid.NewGuid():N}.layer");
        var saved = Run(who, image, "fim-layer", "commit", "file", file);
        MustSucceed(saved);
        Assert.DoesNotContain("W::", saved.Stderr);
        if (!file.EndsWith("first.layer", StringComparison.Ordinal) && !file.EndsWith("second.layer", StringComparison.Ordinal))
            MustSucceed(Run(who, image, "fim-layer", "add", file));
    }

    private string Output(Identity who, string image, string script)
    {
        var result = Run(who, image, "fim-root", "sh", "-c", script);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.Stdout;
    }

    /// <summary>Every run gets a runtime directory next to its image, so these tests never touch the shared one RunTests checks.</summary>
    private static RunResult Run(Identity who, string image, params string[] args)
    {
        string runtime = Path.Combine(Path.GetDirectoryName(image)!, "xdg-runtime");
        if (!Directory.Exists(runtime))
        {
            Directory.CreateDirectory(runtime);
            File.SetUnixFileMode(runtime, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            if (who == Identity.User)
                Launcher.Chown(runtime);
        }
        return Launcher.Run(who, image, new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime }, args);
    }

    private static void MustSucceed(RunResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    private static string DataDir(string image) => Path.Combine(Path.GetDirectoryName(image)!, $".{Path.GetFileName(image)}.data");

    private static string Upper(string image) => Path.Combine(DataDir(image), "root");
}
