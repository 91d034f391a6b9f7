using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using FlatImage.Actors.Instance;
using FlatImage.Actors.Mounts;
using FlatImage.Runtime.Filesystems;
using Xunit.Abstractions;

namespace FlatImage.Actors.Tests.Instance;

/// <summary>
/// Whole runs through InstanceActor with real parts: the busybox layer served by our FUSE server
/// (mount(2)), the host's fuse-overlayfs on top, bwrap running busybox's sh. Each test checks what
/// a run leaves behind in the mount table and among this process's children, and the order of
/// boot and teardown as the actors report it (their log lines and the order they terminate in).
/// </summary>
// Mounts with mount(2) and starts bwrap as root: excluded from scripts/unit-tests.sh (docs/contributing.md).
[Trait("Category", "NeedsRoot")]
[Collection("fuse")]
public sealed class InstanceActorTests : TestKit, IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);
    private readonly TestRun _run = new();
    private readonly HashSet<int> _childrenBefore = TestRun.Children().Keys.ToHashSet();
    private readonly TestProbe _log;

    public InstanceActorTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output)
    {
        _log = CreateTestProbe();
        Sys.EventStream.Subscribe(_log.Ref, typeof(Info));
    }

    [Fact]
    public void Boots_layers_then_overlay_then_sandbox_and_tears_down_in_reverse_when_the_program_exits()
    {
        // The program waits for the test's go, so the test can look at the booted run first.
        var plan = _run.Plan(["sh", "-c", "while [ ! -e /go ]; do sleep 0.1; done; cat /etc/marker > /out; exit 7"]);
        var instance = Start(plan);
        var (sandbox, overlay, layers, order) = WatchBootedRun();
        // The layers were mounted first: fuse-overlayfs stacks on them, and the mount table keeps mount order.
        Assert.Equal([_run.Paths.LayersMountPoint, _run.Paths.MergedRoot], _run.Mounts());
        Assert.Equal(TestRun.Marker, File.ReadAllText(Path.Combine(_run.Paths.MergedRoot, "etc", "marker")));
        Assert.Contains(TestRun.Children().Values, c => c == "bwrap");

        // Through the overlay, as the guest sees it.
        File.WriteAllText(Path.Combine(_run.Paths.MergedRoot, "go"), "");
        Assert.Equal(new RunInstanceResult(7, null), ExpectMsg<RunInstanceResult>(Long));

        // The guest read the layer and wrote the writable layer through the overlay.
        Assert.Equal(TestRun.Marker, File.ReadAllText(Path.Combine(_run.Paths.UpperDirectory, "out")));
        Assert.Equal(
            ["overlay mounted at", "mounts ready", "starting the sandbox", "bwrap", "overlay unmounted from"],
            LogLines("overlay mounted at", "mounts ready", "starting the sandbox", "bwrap", "overlay unmounted from"));
        // The supervisor stops the layers only once the overlay, which holds them busy, is gone.
        AssertAllTerminatedOverlayBeforeLayers(order, sandbox, overlay, layers);
        AssertNothingLeft(instance);
    }

    [Fact]
    public void A_dead_overlay_daemon_ends_the_run_stops_the_sandbox_and_unmounts_everything()
    {
        var plan = _run.Plan(["sh", "-c", "sleep 600"]);
        var instance = Start(plan);
        var (sandbox, overlay, layers, order) = WatchBootedRun();
        int daemon = TestRun.Children().Single(c => c.Value == "fuse-overlayfs").Key;

        // A real daemon death: SIGKILL, as the OOM killer would do it.
        Assert.Equal(0, Native.Interop.Signal.kill(daemon, Native.Interop.Signal.SIGKILL));

        // The run fails with the overlay's reason, whichever reached the instance first: the
        // overlay's failure, or the program's own death on its vanished root (SIGBUS, or bwrap's 1).
        var result = ExpectMsg<RunInstanceResult>(Long);
        Assert.Equal(125, result.Status);
        Assert.StartsWith("fuse-overlayfs exited while the program was running", result.Error);
        // One answer only, even when the supervisor's Terminated (a system message) overtakes its
        // MountsFailed (the instance used to answer twice then).
        FishForMessage(m =>
        {
            Assert.IsNotType<RunInstanceResult>(m);
            return m is Terminated;
        }, Long);
        // The sandbox is stopped while the supervisor already tears down (it saw the overlay fail
        // first), so only the mounts' order is fixed: the overlay before the layers under it.
        AssertAllTerminatedOverlayBeforeLayers(order, sandbox, overlay, layers);
        AssertNothingLeft(instance, terminationSeen: true);
    }

    [Fact]
    public void An_overlay_that_fails_to_mount_ends_the_run_with_its_error_and_unmounts_the_layers()
    {
        // A real program that exits at once without mounting stands in for a broken overlay daemon.
        var plan = _run.Plan(["sh", "-c", "exit 0"], overlayProgram: "/bin/false");
        var instance = Start(plan);

        var result = ExpectMsg<RunInstanceResult>(Long);
        Assert.Equal(125, result.Status);
        Assert.Equal($"false failed to mount {_run.Paths.MergedRoot}: exited with status 1", result.Error);
        Assert.DoesNotContain(LogLines("mounts ready", "starting the sandbox"), _ => true);
        AssertNothingLeft(instance);
    }

    [Fact]
    public void A_layer_mount_that_crashes_is_stopped_not_restarted_and_the_run_reports_its_error()
    {
        var starts = CreateTestProbe();
        var plan = _run.Plan(["sh", "-c", "exit 0"]);
        // A real child that crashes in PreStart, in the layer mount's place: the supervisor's decision is under test.
        var instance = Start(plan, _ => Props.Create(() => new CrashingMount(starts.Ref)));

        var result = ExpectMsg<RunInstanceResult>(Long);
        Assert.Equal(new RunInstanceResult(125, "the layer mount crashed (test)"), result);
        starts.ExpectMsg("PreStart");
        starts.ExpectNoMsg(TimeSpan.FromMilliseconds(500)); // once: stopped, never restarted
        Assert.DoesNotContain(LogLines("overlay mounted at", "mounts ready", "starting the sandbox"), _ => true);
        AssertNothingLeft(instance);
    }

    [Fact]
    public void A_stop_during_boot_tears_down_what_was_started_and_starts_nothing_more()
    {
        var plan = _run.Plan(["sh", "-c", "exit 0"]);
        var instance = Start(plan);
        // Queued right behind RunInstance: it arrives while the layers are still being mounted.
        instance.Tell(new StopInstance(15));

        var result = ExpectMsg<RunInstanceResult>(Long);
        Assert.Equal(new RunInstanceResult(128 + 15, "Stopped by signal 15"), result);
        Assert.DoesNotContain(LogLines("overlay mounted at", "mounts ready", "starting the sandbox"), _ => true);
        AssertNothingLeft(instance);
    }

    private IActorRef Start(Runtime.Instances.RunPlan plan, Func<LayerMountOptions, Props>? layerMount = null)
    {
        var instance = Sys.ActorOf(InstanceActor.Props(layerMount ?? (o => LayerMountActor.Props(o))), "instance");
        Watch(instance);
        instance.Tell(new RunInstance(plan, _run.Lock()), TestActor);
        return instance;
    }

    /// <summary>Once the sandbox runs: its actor, the overlay's and the layers', watched by the returned probe.</summary>
    private (IActorRef Sandbox, IActorRef Overlay, IActorRef Layers, TestProbe Order) WatchBootedRun()
    {
        var sandbox = Resolve("/user/instance/sandbox");
        var overlay = Resolve("/user/instance/mounts/overlay");
        var layers = Resolve("/user/instance/mounts/layers");
        var order = CreateTestProbe();
        foreach (var actor in new[] { sandbox, overlay, layers })
            order.Watch(actor);
        return (sandbox, overlay, layers, order);
    }

    /// <summary>The actor at <paramref name="path"/>, once it exists.</summary>
    private IActorRef Resolve(string path)
    {
        IActorRef? found = null;
        AwaitCondition(() =>
        {
            found = Sys.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(5)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null).Result;
            return found is not null;
        }, Long, TimeSpan.FromMilliseconds(100));
        return found!;
    }

    /// <summary>
    /// All three ended, the overlay before the layers. (The sandbox actor stops itself after it
    /// reports bwrap's exit, concurrently with the teardown that report starts, so its place is not
    /// fixed; that bwrap exited before the overlay went is checked in the log order.)
    /// </summary>
    private static void AssertAllTerminatedOverlayBeforeLayers(TestProbe order, IActorRef sandbox, IActorRef overlay, IActorRef layers)
    {
        var ended = order.ReceiveN(3, Long).Cast<Terminated>().Select(t => t.ActorRef).ToList();
        Assert.Equal(new HashSet<IActorRef> { sandbox, overlay, layers }, ended.ToHashSet());
        Assert.True(ended.IndexOf(overlay) < ended.IndexOf(layers), $"the layers were stopped before the overlay: {string.Join(", ", ended)}");
    }

    /// <summary>The instance answered and stopped; no mount below the run's directory and no child process of ours is left.</summary>
    private void AssertNothingLeft(IActorRef instance, bool terminationSeen = false)
    {
        if (!terminationSeen)
            ExpectTerminated(instance, Long);
        Assert.Empty(_run.Mounts());
        // The janitor stand-in and bwrap are reaped when their owners let go; allow for the last waits.
        AwaitCondition(() => !TestRun.Children().Keys.Except(_childrenBefore).Any(), Long, TimeSpan.FromMilliseconds(100));
    }

    /// <summary>
    /// The log lines received so far that start with one of <paramref name="prefixes"/>, as those
    /// prefixes, in the order the actors logged them (each logs before it tells the next step).
    /// </summary>
    private List<string> LogLines(params string[] prefixes)
    {
        var lines = new List<string>();
        while (_log.HasMessages)
        {
            string line = _log.ExpectMsg<Info>(TimeSpan.Zero).Message.ToString() ?? "";
            if (prefixes.FirstOrDefault(p => line.StartsWith(p, StringComparison.Ordinal)) is { } prefix)
                lines.Add(prefix);
        }
        return lines;
    }

    void IDisposable.Dispose()
    {
        Shutdown();
        _run.Dispose();
    }

    /// <summary>A child that reports each start and throws in PreStart.</summary>
    private sealed class CrashingMount(IActorRef starts) : ReceiveActor
    {
        protected override void PreStart()
        {
            starts.Tell("PreStart");
            throw new InvalidOperationException("the layer mount crashed (test)");
        }
    }
}
