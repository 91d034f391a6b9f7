using System.Diagnostics;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// <c>fim-layer commit binary|layer|file</c> (docs/cli.md §13.5) on a busybox image, as root and as an
/// unprivileged user: the next run sees exactly the tree the writable layer showed, now served
/// from the new layer, and the writable layer is empty.
/// </summary>
public sealed class CommitTests : IDisposable
{
    // Image directories (and commit destinations) of this test, removed afterwards: every image
    // is a copy of the launcher and the suite has many.
    private readonly List<string> _scratch = new();

    // Small filesystems a test mounted (disk-full cases), unmounted afterwards.
    private readonly List<string> _mounts = new();

    // Variables every run of this test gets (FIM_DIR_DATA for a data directory elsewhere).
    private readonly Dictionary<string, string?> _env = new();

    public void Dispose()
    {
        foreach (string mount in _mounts)
            Launcher.RunProcess("umount", ["-l", mount], null, null);
        foreach (string dir in _scratch)
            Launcher.RunProcess("rm", ["-rf", "--one-file-system", dir], null, null);
    }

    private string NewImage(Identity who)
    {
        string image = BusyboxImage.New(who);
        _scratch.Add(Path.GetDirectoryName(image)!);
        return image;
    }

    public static TheoryData<Identity, string> IdentitiesAndModes => new()
    {
        { Identity.Root, "binary" }, { Identity.Root, "layer" }, { Identity.Root, "file" },
        { Identity.User, "binary" }, { Identity.User, "layer" }, { Identity.User, "file" },
    };

    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    // Adds files, deletes a lower file, renames a lower directory, replaces a lower directory
    // (an opaque one) and changes a lower file's mode.
    private const string Changes =
        "mkdir -p /opt/app/sub && echo hello > /opt/app/sub/file && echo top > /opt/app/top"
        + " && rm /bin/ls && mv /usr /usr2 && rm -r /var && mkdir /var && echo new > /var/new"
        + " && chmod 600 /etc/image-marker";

    // What a run sees of those paths: contents, presence, modes and owners as root sees them.
    private const string View =
        "cat /opt/app/sub/file /opt/app/top /etc/image-marker /var/new;"
        + " for p in /bin/ls /usr /usr2 /usr2/bin /var /var/tmp /etc/image-marker /opt/app /opt/app/sub/file; do"
        + " if [ -e $p ]; then echo \"$p $(stat -c %a:%u:%g $p)\"; else echo \"$p gone\"; fi; done;"
        + " ls -a /var | tr '\\n' ' '; echo; ls /bin | wc -l";

    [Theory]
    [MemberData(nameof(IdentitiesAndModes))]
    public void Commit_keeps_the_view_and_empties_the_writable_layer(Identity who, string mode)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", Changes));
        string before = ViewOf(who, image);
        Assert.Contains("/bin/ls gone", before);
        Assert.Contains("/usr gone", before);
        Assert.Contains("/usr2/bin 755:0:0", before);
        Assert.Contains("/var/tmp gone", before);
        Assert.Contains("/etc/image-marker 600:0:0", before);
        Assert.Contains(". .. new ", before);

        string? file = mode == "file" ? FreshPathOnAnotherFilesystem(who) : null;
        var commit = mode == "file"
            ? Run(who, image, "fim-layer", "commit", "file", file!)
            : Run(who, image, "fim-layer", "commit", mode);
        MustSucceed(commit);
        string placed = mode switch
        {
            "binary" => "Filesystem appended to binary without errors",
            "layer" => $"Layer saved to '{Path.Combine(DataDir(image), "layers", "layer-000.layer")}'",
            _ => $"Layer saved to '{file}'",
        };
        Assert.Equal($"{placed}\nFinished erasing files\n", commit.Stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        if (mode == "file")
        {
            Assert.True(File.Exists(file));
            Assert.NotEqual(before, ViewOf(who, image)); // not in the stack yet
            MustSucceed(Run(who, image, "fim-layer", "add", file!));
            File.Delete(file!);
        }

        Assert.Equal(before, ViewOf(who, image));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Commit_of_a_unionfs_writable_layer_keeps_the_view(Identity who)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-overlay", "set", "unionfs"));
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", Changes));
        string before = ViewOf(who, image);
        Assert.Contains("/bin/ls gone", before);
        Assert.Contains("/usr gone", before);
        Assert.Contains("/var/tmp gone", before);
        Assert.Contains(". .. new ", before);
        MustSucceed(Run(who, image, "fim-layer", "commit", "binary"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        // The layer's whiteouts and opaque directory hide what they deleted under unionfs-fuse too,
        // and under fuse-overlayfs.
        Assert.Equal(before, ViewOf(who, image));
        MustSucceed(Run(who, image, "fim-overlay", "set", "overlayfs"));
        Assert.Equal(before, ViewOf(who, image));
        // The directory that held the deleted file keeps its attributes and the rest of its files.
        Assert.Equal("755\n", Run(who, image, "fim-exec", "stat", "-c", "%a", "/bin").Stdout);
        Assert.Equal(0, Run(who, image, "fim-exec", "test", "-L", "/bin/cat").ExitCode);
    }

    public static TheoryData<Identity, string> IdentitiesAndOverlays => new()
    {
        { Identity.Root, "overlayfs" }, { Identity.Root, "unionfs" },
        { Identity.User, "overlayfs" }, { Identity.User, "unionfs" },
    };

    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void Two_commits_stack(Identity who, string overlay)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-overlay", "set", overlay));
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", Changes));
        MustSucceed(Run(who, image, "fim-layer", "commit", "layer"));
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", "rm /opt/app/top && echo second > /opt/app/second && rm -r /opt/app/sub && chmod 700 /var"));
        string before = ViewOf(who, image);
        Assert.Contains("/opt/app/sub/file gone", before);
        var second = Run(who, image, "fim-layer", "commit", "layer");
        MustSucceed(second);
        Assert.Contains("layer-001.layer", second.Stdout);
        MustSucceed(Run(who, image, "fim-layer", "commit", "binary")); // an empty writable layer commits too
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        // (Runs put the caller's passwd and group entries back into the writable layer; a commit takes them out.)
        Assert.Equal(before, ViewOf(who, image));
        Assert.Equal("second\n", Run(who, image, "fim-exec", "cat", "/opt/app/second").Stdout);
        Assert.Equal(1, Run(who, image, "fim-exec", "cat", "/opt/app/top").ExitCode);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Commit_is_refused_while_an_instance_runs(Identity who)
    {
        string image = NewImage(who);
        string started = Path.Combine(Upper(image), "started");
        using var running = Launcher.Start(who, image, Env(who, image), "fim-root", "sh", "-c", "touch /started; sleep 30");
        try
        {
            WaitFor(() => File.Exists(started), running, "the instance never started");
            var refused = Run(who, image, "fim-layer", "commit", "binary");
            Assert.Equal(125, refused.ExitCode);
            Assert.Equal($"E::fim-layer::Another instance is running on {DataDir(image)}\n", refused.Stderr);
            Assert.Equal("", refused.Stdout);
            Assert.True(File.Exists(started));
        }
        finally
        {
            running.Kill(entireProcessTree: true);
            running.WaitForExit();
        }
        WaitFor(() => Run(who, image, "fim-layer", "commit", "binary").ExitCode == 0, null, "the commit stayed refused after the instance died");
        Assert.Equal(0, Run(who, image, "fim-exec", "test", "-f", "/started").ExitCode);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_commit_killed_mid_append_leaves_the_image_and_the_writable_layer(Identity who)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", Changes));
        string before = ViewOf(who, image);
        string layersBefore = Run(who, image, "fim-layer", "list").Stdout;

        string marker = Path.Combine(Path.GetDirectoryName(image)!, "stalled");
        using (var commit = Launcher.Start(who, image, Env(who, image, ("FIM_TEST_STALL_COMMIT_APPEND", marker)), "fim-layer", "commit", "binary"))
        {
            WaitFor(() => File.Exists(marker), commit, "the commit never reached the stall point");
            commit.Kill(entireProcessTree: true);
            commit.WaitForExit();
        }

        Assert.Equal(layersBefore, Run(who, image, "fim-layer", "list").Stdout);
        Assert.NotEmpty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal(before, ViewOf(who, image));

        MustSucceed(Run(who, image, "fim-layer", "commit", "binary"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal(before, ViewOf(who, image));
        Assert.Equal(layersBefore.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length + 1,
            Run(who, image, "fim-layer", "list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_commit_killed_while_writing_the_layer_leaves_the_image_and_the_writable_layer(Identity who)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", Changes + " && " + WriteBlob));
        string before = ViewOf(who, image) + Blob(who, image);
        byte[] imageBefore = File.ReadAllBytes(image);

        string marker = Path.Combine(Path.GetDirectoryName(image)!, "stalled");
        using (var commit = Launcher.Start(who, image, Env(who, image, ("FIM_TEST_STALL_COMMIT_WRITE", marker)), "fim-layer", "commit", "binary"))
        {
            WaitFor(() => File.Exists(marker), commit, "the commit never reached the stall point");
            commit.Kill(entireProcessTree: true);
            commit.WaitForExit();
        }
        string partial = Path.Combine(DataDir(image), "tmp", "layer.tmp");
        Assert.True(new FileInfo(partial).Length > 0, "the layer was not partly written when the commit was killed");

        Assert.Equal(imageBefore, File.ReadAllBytes(image));
        Assert.Equal(before, ViewOf(who, image) + Blob(who, image));
        MustSucceed(Run(who, image, "fim-layer", "commit", "binary"));
        Assert.False(File.Exists(partial));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal(before, ViewOf(who, image) + Blob(who, image));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_commit_killed_after_placing_the_layer_shows_the_same_tree_and_commits_again(Identity who)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", Changes));
        string before = ViewOf(who, image);
        int layersBefore = LayerCount(who, image);

        string marker = Path.Combine(Path.GetDirectoryName(image)!, "stalled");
        using (var commit = Launcher.Start(who, image, Env(who, image, ("FIM_TEST_STALL_COMMIT_CLEAR", marker)), "fim-layer", "commit", "binary"))
        {
            WaitFor(() => File.Exists(marker), commit, "the commit never reached the stall point");
            commit.Kill(entireProcessTree: true);
            commit.WaitForExit();
        }

        // The changes now exist twice, in the new layer and still above it: the same tree.
        Assert.Equal(layersBefore + 1, LayerCount(who, image));
        Assert.NotEmpty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal(before, ViewOf(who, image));

        MustSucceed(Run(who, image, "fim-layer", "commit", "binary"));
        Assert.Equal(layersBefore + 2, LayerCount(who, image));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal(before, ViewOf(who, image));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_full_data_directory_fails_the_commit_and_keeps_the_image_and_the_writable_layer(Identity who)
    {
        string image = NewImage(who);
        // Room for the writable layer's blob, not for a second copy of it in the layer.
        string small = SmallFilesystem(who, Path.GetDirectoryName(image)!, BlobBytes + BlobBytes / 3);
        string data = Path.Combine(small, "data");
        _env["FIM_DIR_DATA"] = data;
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", WriteBlob + " && rm /bin/ls"));
        string before = ViewOf(who, image) + Blob(who, image);
        byte[] imageBefore = File.ReadAllBytes(image);

        var full = Run(who, image, "fim-layer", "commit", "binary");
        FailsWith(full, $"Failed to write layer '{data}/tmp/layer.tmp': No space left on device");
        Assert.False(File.Exists(Path.Combine(data, "tmp", "layer.tmp")));
        Assert.Equal(imageBefore, File.ReadAllBytes(image));
        Assert.Equal(before, ViewOf(who, image) + Blob(who, image));

        Grow(small);
        MustSucceed(Run(who, image, "fim-layer", "commit", "binary"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(data, "root")));
        Assert.Equal(before, ViewOf(who, image) + Blob(who, image));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Commit_file_to_a_full_filesystem_fails_and_leaves_nothing_there(Identity who)
    {
        string image = NewImage(who);
        string small = SmallFilesystem(who, Path.GetDirectoryName(image)!, BlobBytes / 2);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", WriteBlob));
        string before = ViewOf(who, image) + Blob(who, image);
        string destination = Path.Combine(small, "committed.layer");

        var full = Run(who, image, "fim-layer", "commit", "file", destination);
        FailsWith(full, $"Failed to write layer '{destination}': No space left on device");
        Assert.Empty(Directory.EnumerateFileSystemEntries(small));
        Assert.False(File.Exists(Path.Combine(DataDir(image), "tmp", "layer.tmp")));
        Assert.Equal(before, ViewOf(who, image) + Blob(who, image));

        Grow(small);
        MustSucceed(Run(who, image, "fim-layer", "commit", "file", destination));
        MustSucceed(Run(who, image, "fim-layer", "add", destination));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Upper(image)));
        Assert.Equal(before, ViewOf(who, image) + Blob(who, image));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Commit_binary_on_a_full_image_filesystem_leaves_the_image_as_it_was(Identity who)
    {
        string built = NewImage(who);
        string home = Path.GetDirectoryName(built)!;
        // The relocated launcher and the data directory stay on the roomy disk; only the image is cramped.
        _env["XDG_RUNTIME_DIR"] = Env(who, built)["XDG_RUNTIME_DIR"];
        _env["FIM_DIR_DATA"] = Path.Combine(home, "data");
        string small = SmallFilesystem(who, home, new FileInfo(built).Length + BlobBytes / 2);
        string image = Path.Combine(small, "app.flatimage");
        File.Copy(built, image);
        if (who == Identity.User)
            Launcher.Chown(image);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", WriteBlob));
        string before = ViewOf(who, image) + Blob(who, image);
        string layersBefore = Run(who, image, "fim-layer", "list").Stdout;
        byte[] imageBefore = File.ReadAllBytes(image);

        var full = Run(who, image, "fim-layer", "commit", "binary");
        FailsWith(full, $"Failed to append layer to '{image}': No space left on device");
        Assert.Equal(imageBefore, File.ReadAllBytes(image));
        Assert.Equal(layersBefore, Run(who, image, "fim-layer", "list").Stdout);
        Assert.False(File.Exists(Path.Combine(home, "data", "tmp", "layer.tmp")));
        Assert.Equal(before, ViewOf(who, image) + Blob(who, image));

        Grow(small);
        MustSucceed(Run(who, image, "fim-layer", "commit", "binary"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(home, "data", "root")));
        Assert.Equal(before, ViewOf(who, image) + Blob(who, image));
    }

    /// <summary>Exit 125, nothing on stdout, and on stderr only the progress lines and then the one error line.</summary>
    private static void FailsWith(RunResult result, string message)
    {
        Assert.True(result.ExitCode == 125, result.ToString());
        Assert.Equal("", result.Stdout);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines[..^1], line => Assert.StartsWith("fim-layer commit: ", line));
        Assert.Equal($"E::fim-layer::{message}", lines[^1]);
    }

    // Incompressible, so the layer is as big as the blob.
    private const int BlobBytes = 1_500_000;
    private const string WriteBlob = "mkdir -p /opt && head -c 1500000 /dev/urandom > /opt/blob";

    private string Blob(Identity who, string image) => Run(who, image, "fim-exec", "md5sum", "/opt/blob").Stdout;

    private int LayerCount(Identity who, string image) =>
        Run(who, image, "fim-layer", "list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>A tmpfs of about <paramref name="bytes"/> in <paramref name="parent"/>, owned by the test's identity; unmounted after the test.</summary>
    private string SmallFilesystem(Identity who, string parent, long bytes)
    {
        string dir = Path.Combine(parent, "small");
        Directory.CreateDirectory(dir);
        var mount = Launcher.RunProcess("mount", ["-t", "tmpfs", "-o", $"size={(bytes + 4095) / 4096 * 4096},mode=0700", "fim-small", dir], null, null);
        Assert.True(mount.ExitCode == 0, mount.ToString());
        _mounts.Add(dir);
        if (who == Identity.User)
            Launcher.Chown(dir);
        return dir;
    }

    /// <summary>Room enough for the commit that failed: the same tmpfs, four times bigger plus the blob.</summary>
    private static void Grow(string small)
    {
        long size = new DriveInfo(small).TotalSize;
        var remount = Launcher.RunProcess("mount", ["-o", $"remount,size={size * 4 + BlobBytes * 2}", small], null, null);
        Assert.True(remount.ExitCode == 0, remount.ToString());
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Commit_file_refuses_an_existing_destination(Identity who)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-root", "touch", "/kept"));
        string existing = Path.Combine(Path.GetDirectoryName(image)!, "exists.layer");
        File.WriteAllText(existing, "x");
        var result = Run(who, image, "fim-layer", "commit", "file", existing);
        Assert.Equal(125, result.ExitCode);
        Assert.Equal("E::fim-layer::Destination file already exists\n", result.Stderr);
        Assert.True(File.Exists(Path.Combine(Upper(image), "kept")));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Commit_file_on_the_same_filesystem_is_linked_into_place(Identity who)
    {
        string image = NewImage(who);
        MustSucceed(Run(who, image, "fim-root", "sh", "-c", Changes));
        string before = ViewOf(who, image);
        string file = Path.Combine(Path.GetDirectoryName(image)!, "committed.layer");
        var commit = Run(who, image, "fim-layer", "commit", "file", file);
        MustSucceed(commit);
        Assert.Equal($"Layer saved to '{file}'\nFinished erasing files\n", commit.Stdout);
        // One name left: the temporary one in <data>/tmp is gone, and nothing else is there.
        Assert.Equal("1\n", Launcher.RunProcess("stat", ["-c", "%h", file], null, null).Stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(DataDir(image), "tmp")));
        MustSucceed(Run(who, image, "fim-layer", "add", file));
        Assert.Equal(before, ViewOf(who, image));
    }

    [Fact]
    public void Commit_layer_numbers_after_the_highest_and_stops_at_999()
    {
        var who = Identity.Root;
        string image = NewImage(who);
        string layers = Path.Combine(DataDir(image), "layers");
        Directory.CreateDirectory(layers);
        File.WriteAllText(Path.Combine(layers, "layer-041.layer"), "not a layer: skipped by runs, counted by commits");
        File.WriteAllText(Path.Combine(layers, "notes.txt"), "");
        MustSucceed(Run(who, image, "fim-root", "touch", "/a"));
        var first = Run(who, image, "fim-layer", "commit", "layer");
        Assert.Equal($"Layer saved to '{Path.Combine(layers, "layer-042.layer")}'\nFinished erasing files\n", first.Stdout);

        File.WriteAllText(Path.Combine(layers, "layer-999.layer"), "");
        MustSucceed(Run(who, image, "fim-root", "touch", "/b"));
        var full = Run(who, image, "fim-layer", "commit", "layer");
        Assert.Equal(125, full.ExitCode);
        Assert.Equal("E::fim-layer::Maximum number of layers exceeded\n", full.Stderr);
        Assert.True(File.Exists(Path.Combine(Upper(image), "b")));
    }

    private string ViewOf(Identity who, string image)
    {
        var view = Run(who, image, "fim-root", "sh", "-c", View);
        Assert.True(view.ExitCode == 0, view.ToString());
        return view.Stdout;
    }

    private RunResult Run(Identity who, string image, params string[] args) => Launcher.Run(who, image, Env(who, image), args);

    /// <summary>
    /// Every run of a test gets a runtime directory of its own, next to its image: RunTests checks
    /// that no mount is left under the shared one while these tests run containers in parallel.
    /// The data directory lock, not the runtime directory, is what keeps commits and runs apart.
    /// </summary>
    private Dictionary<string, string?> Env(Identity who, string image, params (string Key, string Value)[] extra)
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
        foreach (var (k, v) in _env)
            env[k] = v;
        foreach (var (k, v) in extra)
            env[k] = v;
        return env;
    }

    private static void MustSucceed(RunResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    private static string DataDir(string image) =>
        Path.Combine(Path.GetDirectoryName(image)!, $".{Path.GetFileName(image)}.data");

    private static string Upper(string image) => Path.Combine(DataDir(image), "root");

    /// <summary>/dev/shm is a tmpfs, the image's directory is not (usually): the move crosses filesystems.</summary>
    private string FreshPathOnAnotherFilesystem(Identity who)
    {
        string dir = Path.Combine("/dev/shm", $"fim-commit-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        _scratch.Add(dir);
        if (who == Identity.User)
            Launcher.Chown(dir);
        return Path.Combine(dir, "committed.layer");
    }

    private static void WaitFor(Func<bool> condition, Process? process, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), failure);
            Assert.False(process?.HasExited ?? false, failure + " (it exited)");
            Thread.Sleep(50);
        }
    }
}
