using System.Diagnostics;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>The image file under concurrency, crashes, damage, copies and permissions.</summary>
public sealed class ImageFileTests
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    [Theory]
    [MemberData(nameof(Identities))]
    public void Twenty_concurrent_writers_lose_no_variable(Identity who)
    {
        string image = Launcher.NewImage(who);
        var processes = Enumerable.Range(0, 20)
            .Select(i => Launcher.Start(who, image, null, "fim-env", "add", $"VAR{i:D2}=value{i}"))
            .ToList();
        foreach (var p in processes)
            Assert.Equal(0, Launcher.Finish(p).ExitCode);
        string expected = string.Concat(Enumerable.Range(0, 20).Select(i => $"VAR{i:D2}=value{i}\n"));
        Assert.Equal(expected, Launcher.Run(who, image, "fim-env", "list").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_writer_killed_mid_write_leaves_the_previous_configuration(Identity who)
    {
        string image = Launcher.NewImage(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "set", "home,network").ExitCode);
        Assert.Equal(0, Launcher.Run(who, image, "fim-env", "add", "KEEP=1").ExitCode);

        string marker = Path.Combine(Path.GetDirectoryName(image)!, "stalled");
        var env = new Dictionary<string, string?> { ["FIM_TEST_STALL_CONFIG_WRITE"] = marker };
        using var writer = Launcher.Start(who, image, env, "fim-perms", "set", "gpu,audio,xorg,input,usb,dev");
        Launcher.WaitForFile(marker, writer, "the writer's stall point");
        // Half of the new slot is on disk: kill the writer (and setpriv's child with it) right there.
        KillTree(writer);

        Assert.Equal("home\nnetwork\n", Launcher.Run(who, image, "fim-perms", "list").Stdout);
        Assert.Equal("KEEP=1\n", Launcher.Run(who, image, "fim-env", "list").Stdout);
        // The lock died with the writer: the next write goes through.
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "add", "gpu").ExitCode);
        Assert.Equal("gpu\nhome\nnetwork\n", Launcher.Run(who, image, "fim-perms", "list").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Damaged_region_is_reported_by_file_name_and_set_writes_a_fresh_one(Identity who)
    {
        string image = Launcher.NewImage(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "set", "home").ExitCode);
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "set", "audio").ExitCode);
        long offset = long.Parse(Launcher.Run(who, image, new Dictionary<string, string?> { ["FIM_MAIN_OFFSET"] = "1" }).Stdout);
        using (var file = File.OpenHandle(image, FileMode.Open, FileAccess.ReadWrite))
        {
            // Flip a byte inside each slot's JSON.
            foreach (long slot in new[] { offset, offset + 512 * 1024 })
            {
                var b = new byte[1];
                RandomAccess.Read(file, b, slot + 30);
                b[0] ^= 0xFF;
                RandomAccess.Write(file, b, slot + 30);
            }
        }
        var list = Launcher.Run(who, image, "fim-perms", "list");
        Assert.Equal(125, list.ExitCode);
        Assert.StartsWith("E::fim-perms::Invalid configuration in '", list.Stderr);
        Assert.Contains(image, list.Stderr);
        Assert.Single(list.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal(125, Launcher.Run(who, image, "fim-perms", "add", "gpu").ExitCode);

        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "set", "gpu").ExitCode);
        Assert.Equal("gpu\n", Launcher.Run(who, image, "fim-perms", "list").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Configuration_survives_copying_and_renaming(Identity who)
    {
        string image = Launcher.NewImage(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "set", "home,portal").ExitCode);
        Assert.Equal(0, Launcher.Run(who, image, "fim-boot", "set", "hello", "-g", "hi").ExitCode);
        string copy = Path.Combine(Path.GetDirectoryName(image)!, "renamed-copy");
        File.Copy(image, copy);
        File.Delete(image);
        if (who == Identity.User)
            Launcher.Chown(copy);
        Assert.Equal("home\nportal\n", Launcher.Run(who, copy, "fim-perms", "list").Stdout);
        Assert.Contains("\"hello\"", Launcher.Run(who, copy, "fim-boot", "show").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Read_only_image_lists_and_refuses_writes_in_one_line(Identity who)
    {
        string image = Launcher.NewImage(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "set", "home").ExitCode);
        File.SetUnixFileMode(image, (UnixFileMode)0b101_101_101);
        string before = ConfigurationCommandTests.Hash(image);
        Assert.Equal("home\n", Launcher.Run(who, image, "fim-perms", "list").Stdout);
        if (who == Identity.User) // root may write a 0555 file anyway
        {
            var add = Launcher.Run(who, image, "fim-perms", "add", "gpu");
            Assert.Equal(125, add.ExitCode);
            Assert.StartsWith("E::fim-perms::", add.Stderr);
            Assert.Single(add.Stderr.TrimEnd('\n').Split('\n'));
            Assert.Equal(before, ConfigurationCommandTests.Hash(image));
        }
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Writers_run_from_a_private_relocated_copy_so_the_image_stays_writable(Identity who)
    {
        string image = Launcher.NewImage(who);
        string marker = Path.Combine(Path.GetDirectoryName(image)!, "stalled");
        using var writer = Launcher.Start(who, image, new Dictionary<string, string?> { ["FIM_TEST_STALL_CONFIG_WRITE"] = marker }, "fim-perms", "add", "home");
        Launcher.WaitForFile(marker, writer, "the writer's stall point");
        try
        {
            // While the launcher runs, the image can be opened for writing: nothing executes it (no ETXTBSY).
            using (File.OpenHandle(image, FileMode.Open, FileAccess.ReadWrite)) { }
            int pid = LauncherPid(writer);
            string exe = File.ResolveLinkTarget($"/proc/{pid}/exe", returnFinalTarget: false)!.FullName;
            int uid = who == Identity.Root ? 0 : Launcher.TestUserIds.Uid;
            Assert.StartsWith($"/tmp/fim-{uid}/app/", exe);
            Assert.Equal((UnixFileMode)0b111_000_000, File.GetUnixFileMode($"/tmp/fim-{uid}"));
        }
        finally
        {
            KillTree(writer);
        }
    }

    [Fact]
    public void Refuses_a_runtime_directory_that_is_a_symlink()
    {
        string image = Launcher.NewImage(Identity.User);
        string xdg = Path.Combine(Path.GetDirectoryName(image)!, "xdg");
        Directory.CreateDirectory(xdg);
        File.CreateSymbolicLink(Path.Combine(xdg, "fim"), "/tmp");
        Launcher.Chown(xdg, recursive: true);
        var result = Launcher.Run(Identity.User, image, new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = xdg }, "fim-perms", "add", "home");
        Assert.Equal(125, result.ExitCode);
        Assert.Equal($"E::fim-perms::Refusing runtime directory '{xdg}/fim': it is a symbolic link\n", result.Stderr);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_actor_system_starts_in_the_published_binary(Identity who)
    {
        string image = Launcher.NewImage(who);
        var result = Launcher.Run(who, image, new Dictionary<string, string?> { ["FIM_SELFTEST"] = "actors" });
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"^actors: ping in \d+\.\d ms\n$", result.Stdout);
    }

    /// <summary>The launcher's pid: the process itself as root, setpriv's exec'd child otherwise (setpriv execs, same pid).</summary>
    private static int LauncherPid(Process process) => process.Id;

    private static void KillTree(Process process)
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }
}
