using System.Buffers.Binary;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// The tools bundle of the blueprint (busybox, bash, bwrap, fuse-overlayfs, unionfs-fuse with their
/// libraries and loader): extracted once per runtime directory, used before the host's tools, and
/// runnable inside a guest that has nothing of its own.
/// </summary>
public sealed class ToolsBundleTests
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    public static TheoryData<Identity, string> IdentitiesAndOverlays => new()
    {
        { Identity.Root, "overlayfs" }, { Identity.Root, "unionfs" },
        { Identity.User, "overlayfs" }, { Identity.User, "unionfs" },
    };

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_blueprint_runs_a_shell_from_the_bundled_busybox(Identity who)
    {
        string image = Launcher.NewImage(who);
        var env = FreshRuntimeDirectory(who);
        var hi = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", "echo hi");
        Assert.True(hi.ExitCode == 0, hi.ToString());
        Assert.Equal("hi\n", hi.Stdout);

        // A dynamic tool (bash) runs in a root with no libc at all: its loader and libraries come along.
        var bash = Launcher.Run(who, image, env, "fim-exec", "bash", "-c", "echo \"$BASH_VERSION\"; command -v sh; echo \"$FIM_DIR_APP_SBIN\"; echo \"$SHELL\"; ls /");
        Assert.True(bash.ExitCode == 0, bash.ToString());
        string[] lines = bash.Stdout.Split('\n');
        Assert.StartsWith("5.", lines[0]);
        Assert.Equal($"{lines[2]}/sh", lines[1]);
        string app = Path.Combine(env["XDG_RUNTIME_DIR"]!, "fim", "app");
        Assert.StartsWith(app + "/", lines[2]);
        // docs/cli.md §9: the default shell is the bundled bash.
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(app)}/[^/]+/bin/bash$", lines[3]);
        Assert.DoesNotContain("lib", lines.Skip(4)); // the blueprint's root really is empty
    }

    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void Runs_with_the_hosts_copies_of_the_tools_and_their_libraries_hidden(Identity who, string overlay)
    {
        string image = BusyboxImage.New(who);
        string empty = Path.Combine(Launcher.NewDirectory(), "empty");
        File.WriteAllText(empty, "");
        File.SetUnixFileMode(empty, (UnixFileMode)0b110_100_100);
        File.SetUnixFileMode(Path.GetDirectoryName(empty)!, (UnixFileMode)0b111_101_101);
        // Bound over with an empty, non-executable file in a private mount namespace; fusermount3 stays.
        var hidden = new[]
        {
            "/usr/bin/bwrap", "/usr/bin/fuse-overlayfs", "/usr/bin/unionfs", "/usr/bin/busybox", "/usr/bin/bash",
            "/usr/lib/x86_64-linux-gnu/libfuse3.so.3", "/usr/lib/x86_64-linux-gnu/libfuse.so.2", "/usr/lib/x86_64-linux-gnu/libcap.so.2",
            "/usr/lib/x86_64-linux-gnu/libselinux.so.1", // last: mount(8) itself needs it
        }.Where(File.Exists).ToList();
        Assert.Contains("/usr/bin/bwrap", hidden);
        string script = $"for f in {string.Join(' ', hidden)}; do mount --bind {empty} $f || exit 99; done; "
            + "if [ -x /usr/bin/bwrap ] || [ -s /usr/bin/fuse-overlayfs ]; then exit 98; fi; exec \"$@\"";
        // A fresh runtime directory: the tools this run finds are the ones it extracted itself.
        var env = FreshRuntimeDirectory(who);
        env["FIM_OVERLAY"] = overlay;

        var run = Launcher.RunWrapped(who, image, ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"], env,
            "fim-exec", "sh", "-c", "cat /etc/image-marker && echo written > /home/new && cat /home/new");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("from the layer\nwritten\n", run.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_runtime_directory_on_a_noexec_mount_falls_back_to_the_hosts_tools(Identity who)
    {
        string image = BusyboxImage.New(who);
        string runtime = Launcher.NewDirectory();
        var (uid, gid) = who == Identity.Root ? (0, 0) : Launcher.TestUserIds;
        // A hardened /tmp: the kernel refuses to execute anything extracted there.
        string script = $"mount -t tmpfs -o noexec,mode=700,uid={uid},gid={gid} tmpfs {runtime} || exit 99; exec \"$@\"";
        var run = Launcher.RunWrapped(who, image, ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"],
            new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime }, "fim-exec", "cat", "/etc/image-marker");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("from the layer\n", run.Stdout);
    }

    [Fact]
    public void A_user_without_a_setuid_fusermount3_is_told_so_in_one_line()
    {
        string image = Launcher.NewImage(Identity.User);
        string copy = Path.Combine(Launcher.NewDirectory(), "fusermount3");
        File.Copy("/usr/bin/fusermount3", copy); // the same program without the setuid bit
        File.SetUnixFileMode(copy, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(Path.GetDirectoryName(copy)!, (UnixFileMode)0b111_101_101);
        string script = $"mount --bind {copy} /usr/bin/fusermount3 || exit 99; exec \"$@\"";
        var run = Launcher.RunWrapped(Identity.User, image, ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"], null,
            "fim-exec", "sh", "-c", "echo hi");
        Assert.Equal(125, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Equal("E::fim-exec::/usr/bin/fusermount3 is not setuid root; an unprivileged user needs it to mount FUSE filesystems (install the fuse3 package)\n", run.Stderr);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Concurrent_first_runs_all_succeed_and_leave_one_extracted_bundle(Identity who)
    {
        string image = Launcher.NewImage(who);
        var env = FreshRuntimeDirectory(who);
        var runs = Enumerable.Range(0, 8).Select(_ => Launcher.Start(who, image, env, "fim-exec", "sh", "-c", "echo hi")).ToList();
        foreach (var result in runs.Select(Launcher.Finish))
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("hi\n", result.Stdout);
        }
        string app = Assert.Single(Directory.GetDirectories(Path.Combine(env["XDG_RUNTIME_DIR"]!, "fim", "app")));
        foreach (string tool in new[] { "bin/bwrap", "bin/fuse-overlayfs", "bin/unionfs", "bin/busybox", "lib/ld-linux-x86-64.so.2", "sbin/sh" })
            Assert.True(File.Exists(Path.Combine(app, tool)), tool);
        Assert.False(Path.Exists(Path.Combine(app, ".tools.tmp")));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_corrupt_bundle_is_one_clear_error_and_the_configuration_still_reads(Identity who)
    {
        string image = Launcher.NewImage(who);
        long tools = long.Parse(Launcher.Run(who, image, new Dictionary<string, string?> { ["FIM_MAIN_OFFSET"] = "1" }).Stdout) + 1024 * 1024;
        var header = new byte[32];
        using (var file = File.OpenHandle(image, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.Read(file, header, tools);
            FlipByte(file, tools + 32 + BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8)) / 2);
        }
        var run = Launcher.Run(who, image, FreshRuntimeDirectory(who), "fim-exec", "sh", "-c", "echo hi");
        Assert.Equal(125, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Equal($"E::fim-exec::Invalid image '{image}': the tools bundle is corrupt (checksum mismatch)\n", run.Stderr);
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "list").ExitCode);

        using (var file = File.OpenHandle(image, FileMode.Open, FileAccess.ReadWrite))
            FlipByte(file, tools + 9); // the payload size: the header's own checksum no longer matches
        run = Launcher.Run(who, image, FreshRuntimeDirectory(who), "fim-exec", "sh", "-c", "echo hi");
        Assert.Equal(125, run.ExitCode);
        Assert.Equal($"E::fim-exec::Invalid image '{image}': the tools bundle header is damaged\n", run.Stderr);
    }

    /// <summary>
    /// fim-version deps lists the bundled tools next to the .NET packages, from the list the bundle
    /// carries; the bubblewrap is the one built from source (0.12, with the kernel overlay options),
    /// and what runs as bwrap says so itself.
    /// </summary>
    [Theory]
    [MemberData(nameof(Identities))]
    public void Version_deps_lists_the_bundled_tools(Identity who)
    {
        string image = Launcher.NewImage(who);
        var deps = Launcher.Run(who, image, "fim-version", "deps");
        Assert.True(deps.ExitCode == 0, deps.ToString());
        using var json = System.Text.Json.JsonDocument.Parse(deps.Stdout);
        var names = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        foreach (string tool in new[] { "bash", "bubblewrap", "busybox", "fim_portal", "fuse-overlayfs", "unionfs-fuse", "Akka" })
            Assert.Contains(tool, names);
        var bwrap = json.RootElement.GetProperty("bubblewrap");
        Assert.Equal("0.12.0", bwrap.GetProperty("version").GetString());
        Assert.Equal("LGPL-2.0-or-later", bwrap.GetProperty("licenses")[0].GetProperty("type").GetString());
        Assert.Matches("^[0-9a-f]{64}$", bwrap.GetProperty("sha").GetString()!);
        Assert.StartsWith("https://", json.RootElement.GetProperty("unionfs-fuse").GetProperty("source").GetString());

        var version = Launcher.Run(who, image, FreshRuntimeDirectory(who), "fim-exec", "sh", "-c", "\"$FIM_DIR_APP_BIN/bwrap\" --version");
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Equal("bubblewrap 0.12.0\n", version.Stdout);
    }

    /// <summary>A runtime directory no run has used yet (XDG_RUNTIME_DIR), owned by <paramref name="who"/>.</summary>
    private static Dictionary<string, string?> FreshRuntimeDirectory(Identity who)
    {
        string dir = Launcher.NewDirectory();
        if (who == Identity.User)
            Launcher.Chown(dir);
        return new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = dir };
    }

    private static void FlipByte(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset)
    {
        var b = new byte[1];
        RandomAccess.Read(file, b, offset);
        b[0] ^= 0xFF;
        RandomAccess.Write(file, b, offset);
    }
}
