using Akka.Actor;
using Akka.Event;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Actors.Mounts;

/// <summary>
/// Mounts the filesystem stack of one run and tears it down in reverse: every read-only layer
/// (one child each, <c>layer-0..N</c>, mounted in parallel), then the overlay on top (<c>overlay</c>),
/// then, with casefold on, the case-insensitive view of the overlay (<c>casefold</c>, CasefoldMountActor).
/// Under unionfs-fuse a read-only fuse-overlayfs (<c>lower</c>) merges the layers first and unionfs
/// stacks the writable layer on that (see <see cref="OverlayCommandLine.BuildReadOnlyMerge"/>).
/// Reports <see cref="MountsReady"/> with the sandbox's root, or <see cref="MountsFailed"/>.
///
/// Supervision: a child that throws is stopped, never restarted — a mount that failed once is
/// not retried blindly, and the run ends with its error. (Worker crashes inside a FUSE session
/// are the layer mount's own business: it restarts the worker on the same connection.)
/// </summary>
public sealed class MountSupervisor : ReceiveActor
{
    private readonly RunPlan _plan;
    private readonly JanitorProcess _janitor;
    private readonly Func<LayerLocation, string, Props> _layerMount;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, string> _pendingLayers = new();
    private readonly List<IActorRef> _layers = new();
    private string? _lastFailure;
    private IActorRef? _overlay;
    private IActorRef? _lowerMerge;
    private IActorRef? _casefold;
    private bool _tearingDown;
    private bool _reported;

    public MountSupervisor(RunPlan plan, JanitorProcess janitor, Func<LayerLocation, string, Props> layerMount)
    {
        _plan = plan;
        _janitor = janitor;
        _layerMount = layerMount;
        Receive<MountReady>(HandleMountReady);
        Receive<MountFailed>(failed => _lastFailure = $"mount {failed.Mountpoint}: {failed.Cause.Message}");
        Receive<Terminated>(HandleTerminated);
        Receive<TearDownMounts>(_ => HandleTearDown());
    }

    public static Props Props(RunPlan plan, JanitorProcess janitor, Func<LayerLocation, string, Props> layerMount) =>
        Akka.Actor.Props.Create(() => new MountSupervisor(plan, janitor, layerMount));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 0, withinTimeRange: TimeSpan.Zero,
        localOnlyDecider: e =>
        {
            // The decider runs on this actor's thread: record why, so the Terminated that follows can say it.
            _lastFailure = (e is ActorInitializationException { InnerException: { } inner } ? inner : e).Message;
            return Directive.Stop;
        });

    protected override void PreStart()
    {
        for (int i = 0; i < _plan.Layers.Count; i++)
        {
            string mountpoint = _plan.Paths.LayerMountPoint(i);
            Directory.CreateDirectory(mountpoint);
            // Announced before the mount exists: if this process dies in between, the janitor still knows the path.
            _janitor.Mounted(mountpoint);
            var child = Context.ActorOf(_layerMount(_plan.Layers[i], mountpoint), $"layer-{i}");
            Context.Watch(child);
            _pendingLayers[child] = mountpoint;
            _layers.Add(child);
        }
        if (_layers.Count == 0)
            StartOverlay();
    }

    private void HandleMountReady(MountReady ready)
    {
        if (_tearingDown)
            return;
        if (_pendingLayers.Remove(Sender))
        {
            if (_pendingLayers.Count == 0)
                StartOverlay();
            return;
        }
        if (Sender.Equals(_lowerMerge))
        {
            StartTopOverlay([ready.Mountpoint]);
            return;
        }
        if (Sender.Equals(_overlay))
        {
            if (EffectiveSettings.Casefold(_plan.Config))
            {
                StartCasefold(ready.Mountpoint);
                return;
            }
            Report(new MountsReady(new SandboxRoot.MergedDirectory(ready.Mountpoint)));
            return;
        }
        if (Sender.Equals(_casefold))
            Report(new MountsReady(new SandboxRoot.MergedDirectory(ready.Mountpoint)));
    }

    /// <summary>The read-only stack, top first (overlayfs order): the scaffold of mount points, then the layers top to bottom.</summary>
    private List<string> LowerTopFirst()
    {
        string scaffold = Path.Combine(_plan.Paths.Instance, "scaffold");
        MountPoints.CreateScaffold(scaffold, MountPoints.Targets(_plan.UserBinds.Concat(_plan.PermissionMounts)));
        return [scaffold, .. Enumerable.Range(0, _plan.Layers.Count).Select(_plan.Paths.LayerMountPoint).Reverse()];
    }

    private void StartOverlay()
    {
        var lowers = LowerTopFirst();
        if (_plan.Overlay == OverlayKind.Bwrap)
        {
            lowers.Reverse();
            Report(new MountsReady(new SandboxRoot.KernelOverlay(lowers, _plan.Paths.UpperDirectory, _plan.Paths.WorkDirectory)));
            return;
        }
        if (_plan.Overlay == OverlayKind.Unionfs)
        {
            string merged = Path.Combine(_plan.Paths.Instance, "lower");
            var merge = OverlayCommandLine.BuildReadOnlyMerge(_plan.LowerMergeProgram!, lowers, merged);
            _lowerMerge = Context.ActorOf(OverlayMountActor.Props(merge, merged, _janitor, Path.Combine(_plan.Paths.Logs, "lower.log")), "lower");
            Context.Watch(_lowerMerge);
            return;
        }
        StartTopOverlay(lowers);
    }

    private void StartTopOverlay(List<string> lowers)
    {
        var squash = _plan.Unprivileged ? ((uint, uint)?)(_plan.Host.Uid, _plan.Host.Gid) : null;
        var command = OverlayCommandLine.Build(_plan.Overlay, _plan.OverlayProgram!, lowers, _plan.Paths.UpperDirectory, _plan.Paths.WorkDirectory, _plan.Paths.MergedRoot, squash);
        _overlay = Context.ActorOf(OverlayMountActor.Props(command, _plan.Paths.MergedRoot, _janitor, Path.Combine(_plan.Paths.Logs, "overlay.log")), "overlay");
        Context.Watch(_overlay);
    }

    /// <summary>fim-casefold on: the case-insensitive view of the overlay becomes the root (the overlay is a FUSE one: the planner made bwrap fall back).</summary>
    private void StartCasefold(string merged)
    {
        string mountpoint = _plan.Paths.CasefoldMountPoint;
        Directory.CreateDirectory(mountpoint);
        _janitor.Mounted(mountpoint);
        _casefold = Context.ActorOf(CasefoldMountActor.Props(new CasefoldMountOptions(merged, mountpoint)), "casefold");
        Context.Watch(_casefold);
    }

    private void HandleTerminated(Terminated terminated)
    {
        var who = terminated.ActorRef;
        if (_layers.Contains(who))
            _janitor.Unmounted(_plan.Paths.LayerMountPoint(int.Parse(who.Path.Name["layer-".Length..], System.Globalization.CultureInfo.InvariantCulture)));
        _layers.Remove(who);
        _pendingLayers.Remove(who);
        if (who.Equals(_overlay))
            _overlay = null;
        if (who.Equals(_lowerMerge))
            _lowerMerge = null;
        if (who.Equals(_casefold))
        {
            _casefold = null;
            _janitor.Unmounted(_plan.Paths.CasefoldMountPoint);
            TryRemoveEmptyDirectory(_plan.Paths.CasefoldMountPoint);
        }
        if (!_tearingDown)
        {
            string reason = _lastFailure ?? $"{who.Path.Name} stopped";
            _log.Error("mount {0} failed: {1}", who.Path.Name, reason);
            Report(new MountsFailed(reason));
            HandleTearDown();
            return;
        }
        ContinueTearDown();
    }

    /// <summary>Reverse order: casefold first (it holds the overlay busy), the overlay (it holds the layers busy), then unionfs' lower merge, then the layers, then this actor.</summary>
    private void HandleTearDown()
    {
        _tearingDown = true;
        if (_casefold is not null)
            Context.Stop(_casefold);
        ContinueTearDown();
    }

    private void ContinueTearDown()
    {
        if (_casefold is not null)
            return;
        if (_overlay is not null)
        {
            Context.Stop(_overlay);
            return;
        }
        if (_lowerMerge is not null)
        {
            Context.Stop(_lowerMerge);
            return;
        }
        if (_layers.Count > 0)
        {
            foreach (var layer in _layers)
                Context.Stop(layer);
            return;
        }
        Context.Stop(Self);
    }

    /// <summary>The per-run casefold mount point goes with the run; anything left in it (it should be empty) stays.</summary>
    private void TryRemoveEmptyDirectory(string path)
    {
        try
        {
            Directory.Delete(path);
        }
        catch (IOException e)
        {
            _log.Warning("casefold: {0} not removed: {1}", path, e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            _log.Warning("casefold: {0} not removed: {1}", path, e.Message);
        }
    }

    private void Report(object message)
    {
        if (_reported)
            return;
        _reported = true;
        Context.Parent.Tell(message);
    }
}

/// <summary>Every mount of the run is ready; the sandbox goes on <see cref="Root"/>.</summary>
public sealed record MountsReady(SandboxRoot Root);

/// <summary>A mount failed; the supervisor is tearing the others down.</summary>
public sealed record MountsFailed(string Reason);

/// <summary>Unmount everything, top first, then stop.</summary>
public sealed class TearDownMounts
{
    public static readonly TearDownMounts Instance = new();

    private TearDownMounts() { }
}
