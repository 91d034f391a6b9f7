using Akka.TestKit.Xunit2;
using FlatImage.Actors.Mounts;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;
using Xunit.Abstractions;

namespace FlatImage.Actors.Tests.Mounts;

/// <summary>The actor mounts the casefold view of a real directory (as root: mount(2)), serves it, and leaves no mount behind.</summary>
[Collection("fuse")]
public sealed class CasefoldMountActorTests : TestKit, IDisposable
{
    private readonly string _backing = Directory.CreateTempSubdirectory("fim-actor-casefold-src-").FullName;
    private readonly string _mountpoint = Directory.CreateTempSubdirectory("fim-actor-casefold-mnt-").FullName;

    public CasefoldMountActorTests(ITestOutputHelper output) : base("akka.loglevel = WARNING", output) { }

    [Fact]
    public void Mounts_serves_any_case_and_unmounts_when_stopped()
    {
        Directory.CreateDirectory(Path.Combine(_backing, "Dir"));
        File.WriteAllText(Path.Combine(_backing, "Dir", "Hello.TXT"), "hello\n");
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(CasefoldMountActor.Props(new CasefoldMountOptions(_backing, _mountpoint), probe.Ref), "casefold");
        Assert.Equal(_mountpoint, probe.ExpectMsg<MountReady>(TimeSpan.FromSeconds(15)).Mountpoint);
        Assert.True(FuseMount.IsInMountinfo(_mountpoint));
        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(_mountpoint, "dir", "hello.txt")));
        File.WriteAllText(Path.Combine(_mountpoint, "DIR", "New.txt"), "new");
        Assert.True(File.Exists(Path.Combine(_backing, "Dir", "New.txt")));

        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor, TimeSpan.FromSeconds(15));
        Assert.False(FuseMount.IsInMountinfo(_mountpoint));
    }

    [Fact]
    public void Reports_a_backing_directory_that_does_not_exist_and_stops()
    {
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(CasefoldMountActor.Props(new CasefoldMountOptions(Path.Combine(_backing, "missing"), _mountpoint), probe.Ref), "casefold-missing");
        Watch(actor);
        var failed = probe.ExpectMsg<MountFailed>(TimeSpan.FromSeconds(15));
        Assert.Contains("No such file or directory", failed.Cause.Message);
        ExpectTerminated(actor, TimeSpan.FromSeconds(15));
        Assert.False(FuseMount.IsInMountinfo(_mountpoint));
    }

    void IDisposable.Dispose()
    {
        Shutdown();
        if (FuseMount.IsInMountinfo(_mountpoint)) System.Diagnostics.Process.Start("umount", ["-l", _mountpoint])!.WaitForExit();
        Directory.Delete(_mountpoint, recursive: true);
        Directory.Delete(_backing, recursive: true);
    }
}
