using System.Diagnostics;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// fim-exec, fim-root and the default boot on a busybox image, as root and as an unprivileged user.
/// <see cref="DebianRunTests"/> runs the same tests on the Debian image. The run collection keeps
/// them and the Debian image tests one after the other: several check that no mount is left in
/// the shared per-user runtime directory.
/// </summary>
[Collection("run")]
public class RunTests
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    protected virtual string NewImage(Identity who) => BusyboxImage.New(who);

    /// <summary>A small file the image's layer holds, and its content.</summary>
    protected virtual (string Path, string Content) Marker => ("/etc/image-marker", "from the layer\n");

    /// <summary>A big file of the layer (many blocks) and the host file it was copied from.</summary>
    protected virtual (string Guest, string Host) BigFile => ("/bin/busybox", "/bin/busybox");

    /// <summary>A FUSE overlay backend (the default, the kernel overlay, has no daemon) and the process that serves it.</summary>
    protected virtual (string Overlay, string Daemon) OverlayDaemon => ("overlayfs", "fuse-overlayfs");

    [Theory]
    [MemberData(nameof(Identities))]
    public void Runs_a_program_from_the_layers_and_prints_only_its_output(Identity who)
    {
        string image = NewImage(who);
        var result = Launcher.Run(who, image, "fim-exec", "cat", Marker.Path);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(Marker.Content, result.Stdout);
        // The bwrap overlay fallback warning is said once per build; run again to see a silent run.
        var second = Launcher.Run(who, image, "fim-exec", "echo", "-n", "hello", "world");
        Assert.Equal("hello world", second.Stdout);
        Assert.Equal("", second.Stderr);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Exit_status_is_the_programs(Identity who)
    {
        string image = NewImage(who);
        Assert.Equal(3, Launcher.Run(who, image, "fim-exec", "sh", "-c", "exit 3").ExitCode);
        Assert.Equal(137, Launcher.Run(who, image, "fim-exec", "sh", "-c", "kill -9 $$").ExitCode);
        var missing = Launcher.Run(who, image, "fim-exec", "no-such-program", "x");
        Assert.Equal(127, missing.ExitCode);
        Assert.Equal("E::fim-exec::Command not found: 'no-such-program'\n", missing.Stderr);
        Assert.Equal(126, Launcher.Run(who, image, "fim-exec", "/etc").ExitCode);
        var none = Launcher.Run(who, image, "fim-exec");
        Assert.Equal(125, none.ExitCode);
        Assert.Equal("C::fim-exec::Incorrect number of arguments for fim-exec\n", none.Stderr);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Exec_runs_as_the_caller_and_root_as_uid_0(Identity who)
    {
        string image = NewImage(who);
        int uid = who == Identity.Root ? 0 : Launcher.TestUserIds.Uid;
        Assert.Equal($"{uid}\n", Launcher.Run(who, image, "fim-exec", "id", "-u").Stdout);
        Assert.Equal("0\n", Launcher.Run(who, image, "fim-root", "id", "-u").Stdout);
        Assert.Equal("root\n/root\n", Launcher.Run(who, image, "fim-root", "sh", "-c", "echo $USER; echo $HOME").Stdout);
        Assert.Equal("0\n", Launcher.Run(who, image, new Dictionary<string, string?> { ["FIM_ROOT"] = "1" }, "fim-exec", "id", "-u").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Stdin_passes_straight_through(Identity who)
    {
        string image = NewImage(who);
        using var p = Launcher.Start(who, image, null, "fim-exec", "tr", "a-z", "A-Z");
        p.StandardInput.Write("shout\n");
        p.StandardInput.Close();
        var result = Launcher.Finish(p);
        Assert.Equal("SHOUT\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_terminal_passes_straight_through(Identity who)
    {
        string image = NewImage(who);
        // script(1) gives the launcher a pseudo-terminal as stdin, stdout and stderr.
        string command = who == Identity.Root
            ? $"{image} fim-exec sh -c 'test -t 0 && test -t 1 && test -t 2 && echo on-a-tty'"
            : $"setpriv --reuid={Launcher.TestUserIds.Uid} --regid={Launcher.TestUserIds.Gid} --clear-groups -- {image} fim-exec sh -c 'test -t 0 && test -t 1 && test -t 2 && echo on-a-tty'";
        var result = Launcher.RunProcess("script", ["-qec", command, "/dev/null"], null, Path.GetDirectoryName(image));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("on-a-tty", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Changes_persist_in_the_data_directory_and_the_image_is_never_modified(Identity who)
    {
        string image = NewImage(who);
        string hash = ConfigurationCommandTests.Hash(image);
        var mtime = File.GetLastWriteTimeUtc(image);
        Assert.Equal(0, Launcher.Run(who, image, "fim-root", "sh", "-c", $"echo kept > /root/note; rm {Marker.Path}").ExitCode);
        Assert.Equal("kept\n", Launcher.Run(who, image, "fim-exec", "cat", "/root/note").Stdout);
        Assert.Equal(1, Launcher.Run(who, image, "fim-exec", "test", "-e", Marker.Path).ExitCode);
        string upper = Path.Combine(Path.GetDirectoryName(image)!, ".app.flatimage.data", "root");
        Assert.Equal("kept\n", File.ReadAllText(Path.Combine(upper, "root", "note")));
        Assert.Equal(hash, ConfigurationCommandTests.Hash(image));
        Assert.Equal(mtime, File.GetLastWriteTimeUtc(image));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_unionfs_backend_runs_and_keeps_changes(Identity who)
    {
        string image = NewImage(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-overlay", "set", "unionfs").ExitCode);
        Assert.Equal("UNIONFS\n", Launcher.Run(who, image, "fim-overlay", "show").Stdout);
        var write = Launcher.Run(who, image, "fim-root", "sh", "-c", $"echo union > /root/u; cat {Marker.Path}");
        Assert.True(write.ExitCode == 0, write.ToString());
        Assert.Equal(Marker.Content, write.Stdout);
        Assert.Equal("union\n", Launcher.Run(who, image, "fim-exec", "cat", "/root/u").Stdout);
        // The same writable layer seen through the other backend.
        var env = new Dictionary<string, string?> { ["FIM_OVERLAY"] = "overlayfs" };
        Assert.Equal("union\n", Launcher.Run(who, image, env, "fim-exec", "cat", "/root/u").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_read_only_image_runs(Identity who)
    {
        string image = NewImage(who);
        File.SetUnixFileMode(image, (UnixFileMode)0b101_101_101);
        Assert.Equal("ok\n", Launcher.Run(who, image, "fim-exec", "echo", "ok").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void An_image_on_a_read_only_mount_runs(Identity who)
    {
        string image = NewImage(who);
        string dir = Path.GetDirectoryName(image)!;
        string readOnly = Directory.CreateDirectory(Path.Combine(dir, "ro")).FullName;
        File.Copy(image, Path.Combine(readOnly, "app.flatimage"));
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);
        Assert.Equal(0, Launcher.RunProcess("mount", ["--bind", "-o", "ro", readOnly, readOnly], null, null).ExitCode);
        try
        {
            // The data directory cannot live next to the image on a read-only mount: it falls back to
            // $XDG_DATA_HOME/flatimage/ (the test user's HOME is the image's directory).
            var env = new Dictionary<string, string?> { ["XDG_DATA_HOME"] = Path.Combine(dir, "xdg") };
            var result = Launcher.Run(who, Path.Combine(readOnly, "app.flatimage"), env, "fim-root", "sh", "-c", $"cat {Marker.Path}; echo kept > /root/k");
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(Marker.Content, result.Stdout);
            Assert.Equal("kept\n", File.ReadAllText(Path.Combine(dir, "xdg", "flatimage", "app.flatimage.data", "root", "root", "k")));
        }
        finally
        {
            Launcher.RunProcess("umount", [readOnly], null, null);
        }
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_default_sandbox_sees_nothing_of_the_host(Identity who)
    {
        string image = NewImage(who);
        string hostTmp = Path.Combine("/tmp", $"fim-e2e-host-only-{Guid.NewGuid():N}");
        File.WriteAllText(hostTmp, "secret");
        try
        {
            var env = new Dictionary<string, string?> { ["DISPLAY"] = ":99", ["SSH_AUTH_SOCK"] = "/tmp/agent", ["FIM_TEST_PASS"] = "through" };
            string script = string.Join("; ",
                $"test -e {hostTmp} && echo tmp-shared",
                "test -e /work && echo host-root-visible",
                "touch /sys/x 2>/dev/null && echo sys-writable",
                "echo nets=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')",
                "echo pids=$(ls /proc | grep -c '^[0-9]')",
                "echo display=$DISPLAY ssh=$SSH_AUTH_SOCK pass=$FIM_TEST_PASS");
            var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", script);
            Assert.True(result.ExitCode == 0, result.ToString());
            var lines = result.Stdout.Split('\n');
            Assert.DoesNotContain("tmp-shared", lines);
            Assert.DoesNotContain("host-root-visible", lines);
            Assert.DoesNotContain("sys-writable", lines);
            Assert.Contains("nets=lo", lines);
            // The guest's own PID namespace: bwrap's init, the shell and the pipeline that counts — not the host's hundreds.
            Assert.Contains(lines, l => l.StartsWith("pids=") && int.Parse(l[5..]) <= 8);
            Assert.Contains("display= ssh= pass=through", lines);
        }
        finally
        {
            File.Delete(hostTmp);
        }
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Environment_binds_and_permissions_apply(Identity who)
    {
        string image = NewImage(who);
        string dir = Path.GetDirectoryName(image)!;
        string shared = Directory.CreateDirectory(Path.Combine(dir, "shared")).FullName;
        File.WriteAllText(Path.Combine(shared, "f"), "bound\n");
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);
        Assert.Equal(0, Launcher.Run(who, image, "fim-env", "add", "GREETING=hi $USER", "WHERE=$FIM_DIR_SELF").ExitCode);
        Assert.Equal(0, Launcher.Run(who, image, "fim-bind", "add", "ro", "$FIM_DIR_SELF/shared", "/mnt/shared").ExitCode);
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "add", "home,xorg").ExitCode);
        var env = new Dictionary<string, string?> { ["DISPLAY"] = ":99", ["XAUTHORITY"] = Path.Combine(dir, "xauth") };
        string script = "echo $GREETING; echo $WHERE; cat /mnt/shared/f; touch /mnt/shared/g 2>/dev/null || echo read-only; echo display=$DISPLAY; test -d \"$HOME\" && echo home";
        var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", script);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"hi\n{dir}\nbound\nread-only\ndisplay=:99\nhome\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Default_boot_runs_the_stored_program_with_the_callers_arguments(Identity who)
    {
        string image = NewImage(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-boot", "set", "echo", "stored").ExitCode);
        var result = Launcher.Run(who, image, "one", "--two");
        Assert.Equal("stored one --two\n", result.Stdout);
        Assert.Equal(0, Launcher.Run(who, image, "fim-boot", "clear").ExitCode);
        using var p = Launcher.Start(who, image, null, "-c", "echo from-sh");
        Assert.Equal("from-sh\n", Launcher.Finish(p).Stdout);
    }

    public static TheoryData<Identity, string> IdentitiesAndOverlays => new()
    {
        // The kernel overlay lives in the sandbox's mount namespace: only the layer mount is the host's.
        { Identity.Root, "bwrap" }, { Identity.User, "bwrap" },
        { Identity.Root, "overlayfs" }, { Identity.User, "overlayfs" },
        // unionfs-fuse sits on a second daemon, the read-only fuse-overlayfs merge of the layers.
        { Identity.Root, "unionfs" }, { Identity.User, "unionfs" },
    };

    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void A_killed_launcher_leaves_no_mount_behind(Identity who, string overlay)
    {
        string image = NewImage(who);
        string marker = Path.Combine(Path.GetDirectoryName(image)!, "started");
        if (who == Identity.User)
            Launcher.Chown(Path.GetDirectoryName(image)!, recursive: true);
        Assert.Equal(0, Launcher.Run(who, image, "fim-bind", "add", "rw", "$FIM_DIR_SELF", "/outside").ExitCode);
        // A runtime directory of its own: other runs of this user (other test classes) mount under /tmp/fim-<uid> meanwhile.
        string runtime = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(image)!, "xdg-runtime")).FullName;
        File.SetUnixFileMode(runtime, (UnixFileMode)0b111_000_000);
        if (who == Identity.User)
            Launcher.Chown(runtime);
        var env = new Dictionary<string, string?> { ["FIM_OVERLAY"] = overlay, ["XDG_RUNTIME_DIR"] = runtime };
        using var run = Launcher.Start(who, image, env, "fim-exec", "sh", "-c", "echo > /outside/started; sleep 60");
        Launcher.WaitForFile(marker, run, "the program never started");
        string instances = Path.Combine(runtime, "fim", "app");
        Assert.NotEmpty(Mounts(instances));
        // SIGKILL the launcher itself (setpriv exec'd it, same pid).
        Process.GetProcessById(run.Id).Kill();
        var clock = Stopwatch.StartNew();
        while (Mounts(instances).Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(2))
            Thread.Sleep(20);
        Assert.Empty(Mounts(instances));
        run.WaitForExit();
        Assert.Equal("again\n", Launcher.Run(who, image, env, "fim-exec", "echo", "again").Stdout);
    }

    [Theory]
    [InlineData(Identity.Root, "TERM", 143)]
    [InlineData(Identity.User, "TERM", 143)]
    [InlineData(Identity.Root, "INT", 130)]
    [InlineData(Identity.User, "HUP", 129)]
    public void A_signal_to_the_launcher_reaches_the_program_and_everything_is_torn_down(Identity who, string signal, int status)
    {
        string image = NewImage(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-bind", "add", "rw", "$FIM_DIR_SELF", "/outside").ExitCode);
        string marker = Path.Combine(Path.GetDirectoryName(image)!, "started");
        using var run = Launcher.Start(who, image, null, "fim-exec", "sh", "-c", "echo > /outside/started; sleep 60");
        Launcher.WaitForFile(marker, run, "the program never started");
        Assert.Equal(0, Launcher.RunProcess("kill", [$"-{signal}", run.Id.ToString()], null, null).ExitCode);
        var result = Launcher.Finish(run);
        Assert.Equal(status, result.ExitCode);
        Assert.Empty(InstanceMounts(who, [run.Id]));
    }

    /// <summary>
    /// Nothing on a run's path uses cryptography, so the launcher must not load OpenSSL: Akka's
    /// start used to, twice (an app.config lookup and the seed of its random numbers), for 5 MiB
    /// of every run's memory (docs/architecture.md, "Start-up").
    /// </summary>
    [Fact]
    public void A_running_launcher_has_not_loaded_OpenSSL()
    {
        string image = NewImage(Identity.Root);
        Assert.Equal(0, Launcher.Run(Identity.Root, image, "fim-bind", "add", "rw", "$FIM_DIR_SELF", "/outside").ExitCode);
        string marker = Path.Combine(Path.GetDirectoryName(image)!, "started");
        using var run = Launcher.Start(Identity.Root, image, null, "fim-exec", "sh", "-c", "echo > /outside/started; sleep 60");
        Launcher.WaitForFile(marker, run, "the program never started");
        string maps = File.ReadAllText($"/proc/{run.Id}/maps");
        Assert.Contains("libc.so", maps); // the right process: a dynamically linked launcher
        Assert.DoesNotContain("libcrypto", maps);
        Assert.DoesNotContain("libssl", maps);
        Assert.Equal(0, Launcher.RunProcess("kill", ["-TERM", run.Id.ToString()], null, null).ExitCode);
        Assert.Equal(128 + 15, Launcher.Finish(run).ExitCode);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Many_instances_of_one_image_run_at_once(Identity who)
    {
        string image = NewImage(who);
        var runs = Enumerable.Range(0, 32).Select(i => Launcher.Start(who, image, null, "fim-exec", "sh", "-c", $"sleep 1; echo {i}")).ToList();
        var results = runs.Select(Launcher.Finish).ToList();
        for (int i = 0; i < runs.Count; i++)
        {
            Assert.True(results[i].ExitCode == 0, results[i].ToString());
            Assert.Equal($"{i}\n", results[i].Stdout);
        }
        Assert.Empty(InstanceMounts(who, runs.Select(r => r.Id)));
        Assert.Empty(Directory.GetDirectories(Path.Combine(Path.GetDirectoryName(image)!, ".app.flatimage.data", "work")));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Exceptions_in_the_layer_server_fail_one_request_and_reads_keep_succeeding(Identity who)
    {
        string image = NewImage(who);
        // The test hook throws inside the FUSE handler for the next two READs of each layer server.
        // Through fuse-overlayfs: the kernel overlay reads the layer for the exec of the shell
        // itself, so the faulted reads would fail the exec (126) rather than the reads this checks.
        var env = new Dictionary<string, string?> { ["FIM_TEST_FUSE_FAULT"] = "READ:2", ["FIM_DEBUG"] = "1", ["FIM_OVERLAY"] = "overlayfs" };
        var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", $"cat {Marker.Path}; cat {BigFile.Guest} | md5sum; cat {Marker.Path}");
        Assert.True(result.ExitCode == 0, result.ToString());
        string md5 = Launcher.RunProcess("md5sum", [BigFile.Host], null, null).Stdout.Split(' ')[0];
        Assert.Equal($"{Marker.Content}{md5}  -\n{Marker.Content}", result.Stdout);
        // The faults did happen: the layer mount actor logged them (FIM_DEBUG=1 puts the log on stderr).
        Assert.Contains("the request got EIO", result.Stderr);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_killed_overlay_daemon_ends_the_run_with_an_error_and_keeps_the_data(Identity who)
    {
        string image = NewImage(who);
        string dir = Path.GetDirectoryName(image)!;
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);
        Assert.Equal(0, Launcher.Run(who, image, "fim-bind", "add", "rw", "$FIM_DIR_SELF", "/outside").ExitCode);
        // "started" only once sleep runs: a program still being exec'd from the overlay when its
        // daemon dies gets SIGBUS, and its exit can reach the launcher before the daemon's does.
        Assert.Equal(0, Launcher.Run(who, image, "fim-overlay", "set", OverlayDaemon.Overlay).ExitCode);
        using var run = Launcher.Start(who, image, null, "fim-exec", "sh", "-c", "echo saved > /root/before; sleep 60 & sleep 0.2; echo > /outside/started; wait");
        Launcher.WaitForFile(Path.Combine(dir, "started"), run, "the program never started");
        var overlay = Process.GetProcessesByName(OverlayDaemon.Daemon).Where(p => ParentChain(p.Id).Contains(run.Id)).ToList();
        Assert.Single(overlay);
        overlay[0].Kill();
        var result = Launcher.Finish(run);
        Assert.True(result.ExitCode != 0 && result.Stderr.Contains("E::fim-exec::"), result.ToString());
        Assert.Empty(InstanceMounts(who, [run.Id]));
        Assert.Equal("saved\n", Launcher.Run(who, image, "fim-exec", "cat", "/root/before").Stdout);
    }

    /// <summary>
    /// Mounts left by these launchers (a run's instance directory is named by its pid). Other test
    /// classes run images of the same user at the same time: their mounts are theirs to check.
    /// </summary>
    private static List<string> InstanceMounts(Identity who, IEnumerable<int> launcherPids)
    {
        int uid = who == Identity.Root ? 0 : Launcher.TestUserIds.Uid;
        var pids = launcherPids.Select(p => $"/instance/{p}").ToList();
        return Mounts($"/tmp/fim-{uid}/app").Where(m => pids.Any(p => m.Contains(p + "/", StringComparison.Ordinal) || m.EndsWith(p, StringComparison.Ordinal))).ToList();
    }

    internal static List<string> Mounts(string below) =>
        File.ReadLines("/proc/self/mountinfo").Select(l => l.Split(' ')[4]).Where(m => m.StartsWith(below, StringComparison.Ordinal)).ToList();

    private static List<int> ParentChain(int pid)
    {
        var chain = new List<int>();
        for (int i = 0; i < 10 && pid > 1; i++)
        {
            string? ppid = File.Exists($"/proc/{pid}/status")
                ? File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("PPid:"))?[5..].Trim()
                : null;
            if (ppid is null || !int.TryParse(ppid, out pid))
                break;
            chain.Add(pid);
        }
        return chain;
    }
}
