using System.Diagnostics;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// A run's read-only stack — embedded layers, a <c>FIM_LAYERS</c> file and a committed layer in
/// the data directory, one of them deleting a file of a lower one — served by one FUSE mount on
/// every backend, as root and as a user: the program sees the merged tree, the host sees one FUSE
/// mount (plus the overlay daemon's, for fuse-overlayfs and unionfs) while it runs, and none
/// after it ends or after the launcher is SIGKILLed. Each test has its own runtime directory, so
/// the counts are this run's alone.
/// </summary>
public sealed class LayerStackTests
{
    public static TheoryData<Identity, string> IdentitiesAndOverlays => new()
    {
        { Identity.Root, "bwrap" }, { Identity.User, "bwrap" },
        { Identity.Root, "overlayfs" }, { Identity.User, "overlayfs" },
        { Identity.Root, "unionfs" }, { Identity.User, "unionfs" },
    };

    private const string Program = """
        cat /etc/from-embedded /etc/from-env /etc/from-data
        test -e /etc/image-marker && echo "the deleted file is visible"
        echo > /outside/started
        while [ ! -e /outside/go ]; do sleep 0.05; done
        """;

    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void One_FUSE_mount_serves_the_whole_stack_and_none_is_left_after_the_run_or_a_SIGKILL(Identity who, string overlay)
    {
        string image = BusyboxImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        string runtime = Directory.CreateDirectory(Path.Combine(dir, "xdg-runtime")).FullName;
        File.SetUnixFileMode(runtime, (UnixFileMode)0b111_000_000);
        string envLayer = LayerCommandTests.MakeLayer(who, image, "env.layer", ("etc/from-env", "from FIM_LAYERS\n"));
        string embedded = LayerCommandTests.MakeLayer(who, image, "embedded.layer", ("etc/from-embedded", "from an embedded layer\n"));
        string data = LayerCommandTests.MakeLayer(who, image, "data.layer", ("etc/from-data", "from the data directory\n"));
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);
        var env = new Dictionary<string, string?> { ["FIM_OVERLAY"] = overlay, ["XDG_RUNTIME_DIR"] = runtime, ["FIM_LAYERS"] = envLayer };
        Ok(who, image, env, "fim-layer", "add", embedded);
        Ok(who, image, env, "fim-bind", "add", "rw", "$FIM_DIR_SELF", "/outside");
        // A whiteout made the way users make them: delete, then commit to the data directory's layers/.
        var removed = Launcher.Run(who, image, env, "fim-exec", "rm", "/etc/image-marker");
        Assert.True(removed.ExitCode == 0, removed.ToString());
        bool kernelOverlay = overlay == "bwrap" && !removed.Stderr.Contains("no overlay support");
        Ok(who, image, env, "fim-layer", "commit", "layer");
        string layers = Path.Combine(dir, ".app.flatimage.data", "layers");
        File.Copy(data, Path.Combine(layers, "layer-001.layer"));
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);
        Assert.Equal(5, Ok(who, image, env, "fim-layer", "list").TrimEnd('\n').Split('\n').Length);

        string instances = Path.Combine(runtime, "fim", "app");
        using (var run = Launcher.Start(who, image, env, "fim-exec", "sh", "-c", Program))
        {
            Launcher.WaitForFile(Path.Combine(dir, "started"), run, "the program never started");
            var mounts = FuseMounts(instances);
            Assert.True(mounts.Count == (kernelOverlay ? 1 : 2), string.Join('\n', mounts));
            File.WriteAllText(Path.Combine(dir, "go"), "");
            var result = Launcher.Finish(run);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("from an embedded layer\nfrom FIM_LAYERS\nfrom the data directory\n", result.Stdout);
            Assert.Equal("", result.Stderr);
            Assert.Empty(FuseMounts(instances));
        }

        File.Delete(Path.Combine(dir, "started"));
        File.Delete(Path.Combine(dir, "go"));
        using (var run = Launcher.Start(who, image, env, "fim-exec", "sh", "-c", Program))
        {
            Launcher.WaitForFile(Path.Combine(dir, "started"), run, "the program never started");
            Assert.NotEmpty(FuseMounts(instances));
            // The launcher itself (setpriv exec'd it: same pid); its janitor cleans up.
            Process.GetProcessById(run.Id).Kill();
            var clock = Stopwatch.StartNew();
            while (FuseMounts(instances).Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(2))
                Thread.Sleep(20);
            Assert.Empty(FuseMounts(instances));
            run.WaitForExit();
        }
    }

    /// <summary>The FUSE mounts (fstype fuse, fuse.*) whose mount point lies below <paramref name="below"/>.</summary>
    private static List<string> FuseMounts(string below) =>
        File.ReadLines("/proc/self/mountinfo")
            .Where(l => l.Split(' ')[4].StartsWith(below + "/", StringComparison.Ordinal))
            .Where(l => l[(l.IndexOf(" - ", StringComparison.Ordinal) + 3)..].Split(' ')[0] is "fuse" or "fuseblk" || l.Contains(" - fuse.", StringComparison.Ordinal))
            .ToList();

    private static string Ok(Identity who, string image, IDictionary<string, string?> env, params string[] args)
    {
        var result = Launcher.Run(who, image, env, args);
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: {result}");
        return result.Stdout;
    }
}
