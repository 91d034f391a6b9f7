using Akka.Actor;
using Akka.TestKit.Xunit2;
using FlatImage.Actors.Mounts;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Layers;
using Xunit.Abstractions;

namespace FlatImage.Actors.Tests.Mounts;

/// <summary>The actor mounts a real layer (as root: mount(2)), serves it, and leaves no mount behind.</summary>
// Mounts with mount(2): excluded from scripts/unit-tests.sh (docs/contributing.md).
[Trait("Category", "NeedsRoot")]
[Collection("fuse")]
public sealed class LayerMountActorTests : TestKit, IDisposable
{
    private readonly string _source;
    private readonly string _layer;
    private readonly string _mountpoint;

    public LayerMountActorTests(ITestOutputHelper output) : base("akka.loglevel = WARNING", output)
    {
        _source = Directory.CreateTempSubdirectory("fim-actor-src-").FullName;
        Directory.CreateDirectory(Path.Combine(_source, "dir"));
        File.WriteAllText(Path.Combine(_source, "dir", "hello.txt"), "hello, layer mount\n");
        File.WriteAllBytes(Path.Combine(_source, "big.bin"), Enumerable.Range(0, 3_000_000).Select(i => (byte)(i * 7)).ToArray());
        _layer = Path.Combine(Path.GetTempPath(), $"fim-actor-{Guid.NewGuid():N}.layer");
        LayerWriter.Create(_source, _layer, new LayerWriterOptions());
        _mountpoint = Directory.CreateTempSubdirectory("fim-actor-mnt-").FullName;
    }

    [Fact]
    public void Mounts_serves_and_unmounts_when_stopped()
    {
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(LayerMountActor.Props(LayerMountOptions.Single(_layer, 0, -1, _mountpoint), probe.Ref), "layer-0");
        var ready = probe.ExpectMsg<MountReady>(TimeSpan.FromSeconds(15));
        Assert.Equal(_mountpoint, ready.Mountpoint);
        Assert.True(InMountinfo(_mountpoint));
        Assert.Equal("hello, layer mount\n", File.ReadAllText(Path.Combine(_mountpoint, "dir", "hello.txt")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_source, "big.bin")), File.ReadAllBytes(Path.Combine(_mountpoint, "big.bin")));

        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor, TimeSpan.FromSeconds(15));
        Assert.False(InMountinfo(_mountpoint));
    }

    [Fact]
    public void A_faulting_worker_is_logged_and_the_mount_keeps_serving()
    {
        var probe = CreateTestProbe();
        var options = LayerMountOptions.Single(_layer, 0, -1, _mountpoint) with
        {
            Workers = 2,
            FaultInjector = FuseFaultInjection.Countdown(fuse_opcode.FUSE_LOOKUP, 1),
        };
        var actor = Sys.ActorOf(LayerMountActor.Props(options, probe.Ref), "layer-faulty");
        probe.ExpectMsg<MountReady>(TimeSpan.FromSeconds(15));
        Watch(actor);

        // The first LOOKUP throws inside the handler: that request gets EIO, the worker serves on.
        EventFilter.Warning(contains: "serves on").ExpectOne(() =>
            Assert.ThrowsAny<IOException>(() => File.ReadAllText(Path.Combine(_mountpoint, "dir", "hello.txt"))));
        Assert.Equal("hello, layer mount\n", File.ReadAllText(Path.Combine(_mountpoint, "dir", "hello.txt")));

        // A report that a worker stopped makes the actor restart it (this one never stopped, so the
        // session declines) without disturbing the mount.
        actor.Tell(new FuseWorkerFaulted(new FuseWorkerFault(1, null, new InvalidOperationException("test"), WorkerStopped: true)));
        Assert.Equal(File.ReadAllBytes(Path.Combine(_source, "big.bin")), File.ReadAllBytes(Path.Combine(_mountpoint, "big.bin")));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Sys.Stop(actor);
        ExpectTerminated(actor, TimeSpan.FromSeconds(15));
        Assert.False(InMountinfo(_mountpoint));
    }

    [Fact]
    public void A_stopped_worker_is_restarted_on_the_same_connection()
    {
        var probe = CreateTestProbe();
        var options = LayerMountOptions.Single(_layer, 0, -1, _mountpoint) with
        {
            Workers = 1, // with one worker, a worker that stays stopped would hang the next read
            FaultInjector = FuseFaultInjection.Countdown(fuse_opcode.FUSE_LOOKUP, 1),
        };
        var actor = Sys.ActorOf(LayerMountActor.Props(options, probe.Ref), "layer-restart");
        probe.ExpectMsg<MountReady>(TimeSpan.FromSeconds(15));
        var mount = actor.Ask<GetLayerMountResult>(GetLayerMount.Instance, TimeSpan.FromSeconds(5)).Result.Mount!;
        // A subscriber that throws once makes the worker's loop fail after its EIO reply: the
        // worker stops and reports WorkerStopped, which the actor answers with RestartWorker.
        int calls = 0;
        mount.Session.WorkerFaulted += _ =>
        {
            if (Interlocked.Increment(ref calls) == 1) throw new InvalidOperationException("subscriber bug");
        };
        EventFilter.Warning(contains: "restarting it on the same connection").ExpectOne(TimeSpan.FromSeconds(15), () =>
            Assert.ThrowsAny<IOException>(() => File.ReadAllText(Path.Combine(_mountpoint, "dir", "hello.txt"))));
        var read = Task.Run(() => File.ReadAllText(Path.Combine(_mountpoint, "dir", "hello.txt")));
        Assert.True(read.Wait(TimeSpan.FromSeconds(10)), "the restarted worker does not serve");
        Assert.Equal("hello, layer mount\n", read.Result);

        Watch(actor);
        Sys.Stop(actor);
        ExpectTerminated(actor, TimeSpan.FromSeconds(15));
        Assert.False(InMountinfo(_mountpoint));
    }

    [Fact]
    public void Reports_MountFailed_for_a_file_that_is_not_a_layer_and_stops()
    {
        var probe = CreateTestProbe();
        var notALayer = Path.Combine(_source, "dir", "hello.txt");
        var actor = Sys.ActorOf(LayerMountActor.Props(LayerMountOptions.Single(notALayer, 0, -1, _mountpoint), probe.Ref));
        probe.Watch(actor);
        var failed = probe.ExpectMsg<MountFailed>(TimeSpan.FromSeconds(15));
        Assert.IsType<InvalidLayerException>(failed.Cause);
        probe.ExpectTerminated(actor, TimeSpan.FromSeconds(15));
        Assert.False(InMountinfo(_mountpoint));
    }

    [Fact]
    public void Serves_a_stack_merged_and_refuses_one_with_a_damaged_layer_naming_it()
    {
        string upperSource = Directory.CreateTempSubdirectory("fim-actor-upper-").FullName;
        string upper = Path.Combine(Path.GetTempPath(), $"fim-actor-{Guid.NewGuid():N}.layer");
        try
        {
            File.WriteAllText(Path.Combine(upperSource, "top.txt"), "from the top layer\n");
            LayerWriter.Create(upperSource, upper, new LayerWriterOptions());
            var stack = new Runtime.Image.LayerLocation[] { new(_layer, 0, -1), new(upper, 0, -1) };

            var probe = CreateTestProbe();
            var actor = Sys.ActorOf(LayerMountActor.Props(new LayerMountOptions(stack, _mountpoint), probe.Ref), "layers");
            probe.ExpectMsg<MountReady>(TimeSpan.FromSeconds(15));
            Assert.Equal("hello, layer mount\n", File.ReadAllText(Path.Combine(_mountpoint, "dir", "hello.txt")));
            Assert.Equal("from the top layer\n", File.ReadAllText(Path.Combine(_mountpoint, "top.txt")));
            Assert.Single(File.ReadLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == _mountpoint);
            probe.Watch(actor);
            Sys.Stop(actor);
            probe.ExpectTerminated(actor, TimeSpan.FromSeconds(15));
            Assert.False(InMountinfo(_mountpoint));

            // The top layer's magic damaged: nothing is mounted, and the failure names the layer.
            using (var f = new FileStream(upper, FileMode.Open, FileAccess.ReadWrite))
            {
                f.Position = 1;
                f.WriteByte((byte)'x');
            }
            var failing = Sys.ActorOf(LayerMountActor.Props(new LayerMountOptions(stack, _mountpoint), probe.Ref), "layers-damaged");
            probe.Watch(failing);
            var failed = probe.ExpectMsg<MountFailed>(TimeSpan.FromSeconds(15));
            var cause = Assert.IsType<InvalidLayerException>(failed.Cause);
            Assert.Equal(1, cause.Index);
            Assert.Equal($"Invalid layer 1 '{upper}': bad magic", cause.Message);
            probe.ExpectTerminated(failing, TimeSpan.FromSeconds(15));
            Assert.False(InMountinfo(_mountpoint));
        }
        finally
        {
            Directory.Delete(upperSource, recursive: true);
            File.Delete(upper);
        }
    }

    [Fact]
    public void Stops_when_the_mount_is_taken_away_from_outside()
    {
        var probe = CreateTestProbe();
        var actor = Sys.ActorOf(LayerMountActor.Props(LayerMountOptions.Single(_layer, 0, -1, _mountpoint), probe.Ref));
        probe.ExpectMsg<MountReady>(TimeSpan.FromSeconds(15));
        Watch(actor);
        var umount = System.Diagnostics.Process.Start("umount", _mountpoint)!;
        umount.WaitForExit();
        Assert.Equal(0, umount.ExitCode);
        ExpectTerminated(actor, TimeSpan.FromSeconds(15));
        Assert.False(InMountinfo(_mountpoint));
    }

    private static bool InMountinfo(string dir) => File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == dir);

    void IDisposable.Dispose()
    {
        Shutdown();
        if (InMountinfo(_mountpoint)) System.Diagnostics.Process.Start("umount", ["-l", _mountpoint])!.WaitForExit();
        Directory.Delete(_mountpoint);
        Directory.Delete(_source, recursive: true);
        File.Delete(_layer);
    }
}
