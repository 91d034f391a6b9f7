using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Native.Spawn;
using Xunit;
using Xunit.Abstractions;

namespace FlatImage.Native.Tests.Fuse;

/// <summary>
/// The fusermount3 path: in-process as root, and as the unprivileged user fimtest through
/// tests/FuseProbe (setpriv). Checks the real mount table.
/// </summary>
// Mounts, and creates the user fimtest: excluded from scripts/unit-tests.sh (docs/contributing.md).
[Trait("Category", "NeedsRoot")]
[Collection("fuse")]
public class FuseMountTests(ITestOutputHelper output)
{
    [Fact]
    public void Mounts_through_fusermount3_and_unmounts_on_dispose()
    {
        var fs = MemoryFileSystem.Sample(0, 0);
        var dir = Directory.CreateTempSubdirectory("fim-fusermount-").FullName;
        ChildProcess? watchdog;
        using (var m = new MountedFileSystem(fs, new FuseMountOptions(dir)
        {
            FsName = "fimtest",
            Subtype = "fimtest",
            Method = FuseMountMethod.Fusermount,
        }))
        {
            Assert.Equal(FuseMountMethod.Fusermount, m.Mount.Method);
            watchdog = m.Mount.Watchdog;
            Assert.NotNull(watchdog);
            Assert.Equal("hello, fuse\n", File.ReadAllText(m.PathOf("link")));
            Assert.Contains(File.ReadLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == dir && l.Contains("fuse.fimtest"));
        }
        Assert.False(FuseMount.IsInMountinfo(dir));
        Assert.NotNull(watchdog!.ExitStatus); // reaped by pid
        Directory.Delete(dir);
    }

    [Fact]
    public void Mounts_as_an_unprivileged_user_and_unmounts_on_SIGTERM()
    {
        var (uid, _) = FuseProbeProcess.EnsureUser();
        var dir = FuseProbeProcess.CreateMountpoint();
        try
        {
            using var probe = FuseProbeProcess.Start(dir);
            var line = File.ReadLines("/proc/self/mountinfo").Single(l => l.Split(' ')[4] == dir);
            Assert.Contains($"user_id={uid}", line);
            Assert.Contains("fuse.fimprobe", line);
            Assert.Equal(FuseMount.UserAllowOther(), probe.AllowOther);
            Assert.True(probe.ClonedWorkers > 0);

            Assert.Equal("hello, fuse\n", FuseProbeProcess.RunAsUser("cat", Path.Combine(dir, "link")).Stdout);
            Assert.Contains("big.bin", FuseProbeProcess.RunAsUser("ls", "-la", dir).Stdout);
            Assert.Equal("layer-0", FuseProbeProcess.RunAsUser("getfattr", "--only-values", "-n", "user.flatimage", Path.Combine(dir, "dir")).Stdout);
            if (!probe.AllowOther)
            {
                // Without allow_other even root is refused (fuse_allow_current_process).
                Assert.Throws<UnauthorizedAccessException>(() => Directory.GetFiles(dir));
            }

            probe.Signal(Signal.SIGTERM);
            Assert.True(probe.Process.WaitForExit(10_000));
            Assert.Equal(0, probe.Process.ExitCode);
            Assert.Contains("STOPPED", probe.ReadRest());
            Assert.False(FuseMount.IsInMountinfo(dir));
            Assert.False(Directory.Exists($"/proc/{probe.WatchdogPid}") && File.ReadAllText($"/proc/{probe.WatchdogPid}/comm").Trim() == "fusermount3",
                "fusermount3's watchdog outlived the unmount");
        }
        finally
        {
            Cleanup(dir);
        }
    }

    [Fact]
    public void A_failing_fusermount3_is_reported_in_one_line()
    {
        FuseProbeProcess.EnsureUser();
        // A mount point the test user cannot reach (root's, mode 0700) makes fusermount3 fail.
        // (Changing /dev/fuse's mode would do too, but it is machine-wide and other test
        // assemblies mount as the user at the same time.)
        var dir = Directory.CreateTempSubdirectory("fim-forbidden-").FullName;
        try
        {
            var ex = Assert.Throws<InvalidOperationException>(() => FuseProbeProcess.Start(dir).Dispose());
            Assert.Contains("exited with status 1 without passing the fuse fd", ex.Message);
            Assert.False(FuseMount.IsInMountinfo(dir));
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    /// <summary>
    /// What fusermount3's auto_unmount does when the server is SIGKILLed. Observed on this machine
    /// (fusermount3 3.14.0, Linux 6.18): with allow_other it unmounts within ~100 ms; without it
    /// the watchdog's open() of the mount point fails with EACCES (root is not let into a mount
    /// without allow_other), it concludes the filesystem is not dead, exits and leaves the dead
    /// mount (ENOTCONN) behind. Hence the janitor (docs/architecture.md "The janitor").
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Auto_unmount_after_SIGKILL_depends_on_allow_other(bool userAllowOther)
    {
        FuseProbeProcess.EnsureUser();
        var original = File.ReadAllText("/etc/fuse.conf");
        var dir = FuseProbeProcess.CreateMountpoint();
        try
        {
            // Exercise both configurations; restored in finally.
            File.WriteAllText("/etc/fuse.conf", userAllowOther
                ? original + "\nuser_allow_other\n"
                : string.Join('\n', original.Split('\n').Where(l => l.Trim() != "user_allow_other")));
            using var probe = FuseProbeProcess.Start(dir);
            File.WriteAllText("/etc/fuse.conf", original);
            Assert.Equal(userAllowOther, probe.AllowOther);
            Assert.Equal("hello, fuse\n", FuseProbeProcess.RunAsUser("cat", Path.Combine(dir, "dir", "hello.txt")).Stdout);

            probe.Signal(Signal.SIGKILL);
            probe.Process.WaitForExit();
            var deadline = Environment.TickCount64 + 2000;
            while (FuseMount.IsInMountinfo(dir) && Environment.TickCount64 < deadline) Thread.Sleep(20);
            bool stillMounted = FuseMount.IsInMountinfo(dir);
            output.WriteLine($"allow_other={probe.AllowOther}: after SIGKILL the mount is {(stillMounted ? "still there after 2 s" : "gone")}");
            if (userAllowOther)
            {
                Assert.False(stillMounted, "auto_unmount did not remove the mount within 2 s");
            }
            else if (stillMounted)
            {
                // The dead mount answers ENOTCONN; a janitor has to unmount it.
                var (code, _, err) = FuseProbeProcess.RunAsUser("stat", dir);
                Assert.NotEqual(0, code);
                Assert.Contains("Transport endpoint is not connected", err);
            }
        }
        finally
        {
            File.WriteAllText("/etc/fuse.conf", original);
            Cleanup(dir);
        }
    }

    private static void Cleanup(string dir)
    {
        if (FuseMount.IsInMountinfo(dir)) Tool.Run("umount", "-l", dir);
        Directory.Delete(dir);
    }
}
