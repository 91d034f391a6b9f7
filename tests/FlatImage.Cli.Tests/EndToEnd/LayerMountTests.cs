using System.Diagnostics;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// `fim-layer mount` through the published binary, as root (mount(2)) and as the unprivileged test
/// user (fusermount3): every path of the source tree must come back with the same bytes, type,
/// mode, mtime, link target, device numbers, xattrs and hard-link identity; owners are the real
/// ones as root and the caller's as a user. SIGTERM must leave no mount behind.
/// </summary>
[Collection("fuse")]
public sealed class LayerMountTests : IDisposable
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    private readonly List<string> _cleanup = [];

    [Theory]
    [MemberData(nameof(Identities))]
    public void Serves_the_tree_it_was_created_from_and_unmounts_on_SIGTERM(Identity who)
    {
        var (image, layer, source) = Prepare(who);
        string mnt = MountPoint(who);
        using var server = Launcher.Start(who, image, null, "fim-layer", "mount", layer, mnt);
        WaitForMount(server, mnt);

        var expected = TreeManifest.Of(source);
        Assert.True(expected.Count(l => l.Contains('\t')) >= 15, string.Join('\n', expected));
        if (who == Identity.Root)
        {
            TreeManifest.Equal(expected, TreeManifest.Of(mnt));
        }
        else
        {
            // Without user_allow_other only the mounting user may enter the mount: read it as them.
            var (uid, gid) = Launcher.TestUserIds;
            TreeManifest.Equal(TreeManifest.WithOwner(expected, $"{uid}:{gid}"),
                TreeManifest.Of(mnt, "setpriv", $"--reuid={uid}", $"--regid={gid}", "--clear-groups", "--"));
        }

        Signal(server, "TERM");
        var result = Launcher.Finish(server);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("", result.Stderr);
        Assert.False(InMountinfo(mnt), "the mount outlived the launcher");
    }

    [Fact]
    public void A_faulting_request_gets_EIO_and_the_mount_keeps_serving()
    {
        var who = Identity.Root;
        var (image, layer, source) = Prepare(who);
        string mnt = MountPoint(who);
        using var server = Launcher.Start(who, image, new Dictionary<string, string?> { ["FIM_TEST_FUSE_FAULT"] = "LOOKUP:1" },
            "fim-layer", "mount", layer, mnt);
        WaitForMount(server, mnt);
        var first = Launcher.RunProcess("cat", [Path.Combine(mnt, "hello.txt")], null, null);
        Assert.Contains("Input/output error", first.Stderr);
        Assert.Equal(File.ReadAllText(Path.Combine(source, "hello.txt")), File.ReadAllText(Path.Combine(mnt, "hello.txt")));
        Signal(server, "TERM");
        var result = Launcher.Finish(server);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("serves on", result.Stdout + result.Stderr); // the actor logged the fault
        Assert.False(InMountinfo(mnt));
    }

    [Fact]
    public void Serves_the_whole_stack_of_an_image_merged_or_the_one_layer_asked_for()
    {
        var who = Identity.Root;
        var (image, layer, _) = Prepare(who);
        string other = Path.Combine(Path.GetDirectoryName(image)!, "other-src");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "top.txt"), "top layer\n");
        string otherLayer = Path.Combine(Path.GetDirectoryName(image)!, "other.layer");
        Assert.Equal(0, Launcher.Run(who, image, "fim-layer", "create", other, otherLayer).ExitCode);
        Assert.Equal(0, Launcher.Run(who, image, "fim-layer", "add", layer).ExitCode);
        Assert.Equal(0, Launcher.Run(who, image, "fim-layer", "add", otherLayer).ExitCode);

        string mnt = MountPoint(who);
        using (var stack = Launcher.Start(who, image, null, "fim-layer", "mount", image, mnt))
        {
            WaitForMount(stack, mnt);
            Assert.Equal("top layer\n", File.ReadAllText(Path.Combine(mnt, "top.txt")));
            Assert.Equal("hello, layer\n", File.ReadAllText(Path.Combine(mnt, "hello.txt")));
            Assert.Single(File.ReadLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == mnt);
            Signal(stack, "INT");
            Assert.Equal(0, Launcher.Finish(stack).ExitCode);
        }
        using (var top = Launcher.Start(who, image, null, "fim-layer", "mount", image, mnt, "1"))
        {
            WaitForMount(top, mnt);
            Assert.Equal("top layer\n", File.ReadAllText(Path.Combine(mnt, "top.txt")));
            Assert.False(File.Exists(Path.Combine(mnt, "hello.txt")));
            Signal(top, "INT");
            Assert.Equal(0, Launcher.Finish(top).ExitCode);
        }
        using (var bottom = Launcher.Start(who, image, null, "fim-layer", "mount", image, mnt, "0"))
        {
            WaitForMount(bottom, mnt);
            Assert.True(File.Exists(Path.Combine(mnt, "hello.txt")));
            Assert.False(File.Exists(Path.Combine(mnt, "top.txt")));
            Signal(bottom, "TERM");
            Assert.Equal(0, Launcher.Finish(bottom).ExitCode);
        }
        Assert.False(InMountinfo(mnt));

        var bad = Launcher.Run(who, image, "fim-layer", "mount", image, mnt, "7");
        Assert.Equal(125, bad.ExitCode);
        Assert.Equal($"E::fim-layer::Invalid layer index '7' (the image has 2 layers, 0 to 1)\n", bad.Stderr);
        var notLayer = Launcher.Run(who, image, "fim-layer", "mount", Path.Combine(other, "top.txt"), mnt);
        Assert.Equal(125, notLayer.ExitCode);
        Assert.StartsWith("E::fim-layer::Failed to mount layer", notLayer.Stderr);
        Assert.Single(notLayer.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(InMountinfo(mnt));
    }

    /// <summary>
    /// A killed server leaves no mount: its janitor detaches it. (On its own, fusermount3's
    /// auto_unmount watchdog cannot: without user_allow_other in /etc/fuse.conf its open() of the
    /// mount point is refused and it exits, leaving the dead mount — see
    /// FuseMountTests.Auto_unmount_after_SIGKILL_depends_on_allow_other — and as root there is no
    /// watchdog at all.)
    /// </summary>
    [Theory]
    [MemberData(nameof(Identities))]
    public void SIGKILL_leaves_no_mount_behind(Identity who)
    {
        var (image, layer, _) = Prepare(who);
        string mnt = MountPoint(who);
        using var server = Launcher.Start(who, image, null, "fim-layer", "mount", layer, mnt);
        WaitForMount(server, mnt);
        Signal(server, "KILL");
        server.WaitForExit();
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (InMountinfo(mnt) && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.False(InMountinfo(mnt), "the mount outlived its server by more than 2 s");
    }

    /// <summary>An image owned by <paramref name="who"/>, and a layer built by root from a tree with every kind of entry.</summary>
    private (string Image, string Layer, string Source) Prepare(Identity who)
    {
        string image = Launcher.NewImage(who);
        string dir = Path.GetDirectoryName(image)!;
        _cleanup.Add(dir);
        // The user must reach the layer file: the temporary directory is 0700.
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        string source = Path.Combine(dir, "src");
        const string Script = """
            set -e
            cd "$1"
            mkdir -p etc/sub usr/bin empty var/log
            printf 'hello, layer\n' > hello.txt
            head -c 3000000 /dev/urandom > usr/bin/big.bin
            seq 1 200000 > var/log/numbers.txt
            : > empty-file
            printf 'three names\n' > etc/linked
            ln etc/linked usr/bin/linked2
            ln etc/linked linked3
            ln -s ../hello.txt etc/rel-link
            ln -s /etc/passwd abs-link
            ln -s does/not/exist dangling
            mkfifo etc/fifo
            mknod usr/null c 1 3
            mknod usr/sda b 8 0
            printf 'secret\n' > etc/shadowish
            chmod 0600 etc/shadowish
            chmod 4755 usr/bin/big.bin
            chmod 1777 var/log
            setfattr -n user.comment -v kept hello.txt
            setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= usr/bin/big.bin
            chown 1234:5678 hello.txt
            chown -h 77:88 etc/rel-link
            chown 4000:4001 etc/sub
            chown 65534:65534 etc/fifo
            find . -exec touch -h -d '2021-03-04 05:06:07.123456789' {} +
            touch -d '2020-01-02 03:04:05.5' etc
            """;
        Directory.CreateDirectory(source);
        var made = Launcher.RunProcess("bash", ["-c", Script, "tree", source], null, null);
        Assert.True(made.ExitCode == 0, made.ToString());
        string layer = Path.Combine(dir, "tree.layer");
        var created = Launcher.Run(Identity.Root, image, "fim-layer", "create", source, layer);
        Assert.True(created.ExitCode == 0, created.ToString());
        return (image, layer, source);
    }

    private string MountPoint(Identity who)
    {
        string mnt = Directory.CreateTempSubdirectory("fim-e2e-mnt-").FullName;
        _cleanup.Add(mnt);
        if (who == Identity.User) Launcher.Chown(mnt);
        return mnt;
    }

    private static void WaitForMount(Process server, string mnt)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!InMountinfo(mnt))
        {
            if (server.HasExited)
                Assert.Fail($"fim-layer mount exited early: {Launcher.Finish(server)}");
            if (DateTime.UtcNow > deadline)
                Assert.Fail("fim-layer mount did not mount within 30 s");
            Thread.Sleep(50);
        }
        // mountinfo shows the mount before FUSE_INIT is answered; a stat waits for INIT.
        Launcher.RunProcess("stat", ["-f", mnt], null, null);
    }

    private static void Signal(Process process, string signal)
        => Assert.Equal(0, Launcher.RunProcess("kill", [$"-{signal}", process.Id.ToString()], null, null).ExitCode);

    private static bool InMountinfo(string dir) => File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == dir);

    public void Dispose()
    {
        foreach (var path in _cleanup)
        {
            if (InMountinfo(path)) Launcher.RunProcess("umount", ["-l", path], null, null);
            Launcher.RunProcess("rm", ["-rf", "--one-file-system", path], null, null);
        }
    }
}
