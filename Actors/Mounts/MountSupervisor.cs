using Akka.Actor;
using Akka.Event;
using FlatImage.Actors.Hosting;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Actors.Mounts;

/// <summary>
/// Mounts the filesystem stack of one run and tears it down in reverse: the read-only layers,
/// all of them merged by one FUSE server (<c>layers</c>, a <see cref="LayerMountActor"/>), then
/// the writable overlay on top of that one directory (<c>overlay</c>: fuse-overlayfs or
/// unionfs-fuse; bwrap's kernel overlay is mounted inside the sandbox instead), then, with
/// casefold on, the case-insensitive view of the overlay (<c>casefold</c>, CasefoldMountActor).
/// The merged mount already applies whiteouts and opaque directories, so every backend stacks on it directly.
/// Reports <see cref="MountsReady"/> with the sandbox's root, or <see cref="MountsFailed"/>.
///
/// Supervision: a child that throws is stopped, never restarted — a mount that failed once is
/// not retried blindly, and the run ends with its error. (Worker crashes inside a FUSE session
/// are the layer mount's own business: it restarts the worker on the same connection.)
/// </summary>
public sealed class MountSupervisor : UntypedActor
{
    private readonly RunPlan _plan;
    private readonly JanitorProcess _janitor;
    private readonly Func<LayerMountOptions, Props> _layerMount;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private string? _lastFailure;
    private IActorRef? _layers;
    private IActorRef? _overlay;
    private IActorRef? _casefold;
    private bool _tearingDown;
    private bool _readyReported;
    private bool _failureReported;

    /// <param name="layerMount">Props of the actor that serves the given layer mount (a <see cref="LayerMountActor"/>).</param>
    public MountSupervisor(RunPlan plan, JanitorProcess janitor, Func<LayerMountOptions, Props> layerMount)
    {
        _plan = plan;
        _janitor = janitor;
        _layerMount = layerMount;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case MountReady mountReady:
                HandleMountReady(mountReady);
                break;
            case MountFailed failed:
                _lastFailure = failed.Cause is InvalidLayerException
                    ? failed.Cause.Message // it names the layer, which is what the user must act on
                    : $"mount {failed.Mountpoint}: {failed.Cause.Message}";
                break;
            case Terminated terminated:
                HandleTerminated(terminated);
                break;
            case TearDownMounts:
                HandleTearDown();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(RunPlan plan, JanitorProcess janitor, Func<LayerMountOptions, Props> layerMount) =>
        ActorProps.From(() => new MountSupervisor(plan, janitor, layerMount));

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
        if (_plan.Layers.Count == 0)
        {
            StartOverlay(merged: null);
            return;
        }
        string mountpoint = _plan.Paths.LayersMountPoint;
        Directory.CreateDirectory(mountpoint);
        // Announced before the mount exists: if this process dies in between, the janitor still knows the path.
        _janitor.Mounted(mountpoint);
        _layers = Context.ActorOf(_layerMount(new LayerMountOptions(_plan.Layers, mountpoint)
        {
            // A FUSE overlay daemon reads through this mount: checking each file's blocks when it
            // opens it keeps a damaged block an EIO all the way up (LayerFileSystemOptions.VerifyOnOpen).
            VerifyOnOpen = _plan.Overlay != OverlayKind.Bwrap,
            StartProfilePath = _plan.StartProfilePath,
            // The layers planning opened are not opened and checked a second time.
            OpenedReaders = _plan.OpenedLayers,
        }), "layers");
        Context.Watch(_layers);
    }

    private void HandleMountReady(MountReady ready)
    {
        if (_tearingDown)
            return;
        if (Sender.Equals(_layers))
        {
            StartOverlay(ready.Mountpoint);
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

    /// <summary>
    /// The overlay on the read-only view, top first (overlayfs order): the scaffold of bind mount
    /// points, then the merged layers (absent when the image has none).
    /// </summary>
    private void StartOverlay(string? merged)
    {
        string scaffold = Path.Combine(_plan.Paths.Instance, "scaffold");
        // The scaffold's directories take their attributes from the layers' (the merged view) at the same path.
        MountPoints.CreateScaffold(scaffold, MountPoints.Targets(_plan.UserBinds.Concat(_plan.PermissionMounts), _plan.Paths), merged is null ? [] : [merged]);
        List<string> lowers = merged is null ? [scaffold] : [scaffold, merged];
        if (_plan.Overlay == OverlayKind.Bwrap)
        {
            lowers.Reverse();
            Report(new MountsReady(new SandboxRoot.KernelOverlay(lowers, _plan.Paths.UpperDirectory, _plan.Paths.WorkDirectory)));
            return;
        }
        var squash = _plan.Unprivileged ? ((uint, uint)?)(_plan.Host.Uid, _plan.Host.Gid) : null;
        var command = OverlayCommandLine.Build(_plan.Overlay, _plan.OverlayProgram!, lowers, _plan.Paths.UpperDirectory, _plan.Paths.WorkDirectory, _plan.Paths.MergedRoot, squash, AllowOther);
        _overlay = Context.ActorOf(OverlayMountActor.Props(command, _plan.Paths.MergedRoot, _janitor, Path.Combine(_plan.Paths.Logs, "overlay.log")), "overlay");
        Context.Watch(_overlay);
    }

    /// <summary>allow_other for the overlay daemons as for the layer mounts: as root, or where /etc/fuse.conf lets users ask for it.</summary>
    private bool AllowOther => !_plan.Unprivileged || Native.Fuse.FuseMount.UserAllowOther();

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
        if (who.Equals(_layers))
        {
            _janitor.Unmounted(_plan.Paths.LayersMountPoint);
            _layers = null;
        }
        if (who.Equals(_overlay))
            _overlay = null;
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
        // A child that threw (the decider recorded why) failed on its own, even during teardown.
        if (_lastFailure is not null)
            Report(new MountsFailed(_lastFailure));
        ContinueTearDown();
    }

    /// <summary>Reverse order: casefold first (it holds the overlay busy), the overlay (it holds the layers busy), then the layers, then this actor.</summary>
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
        if (_layers is not null)
        {
            Context.Stop(_layers);
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

    /// <summary>
    /// Each kind once: ready when every mount is up; a failure whenever a mount dies, before or after
    /// ready (a daemon killed under the running program), and also when the death is noticed only
    /// while tearing down (the instance's teardown can overtake it): the run reports the mount's
    /// reason, not the program's reaction to losing its root.
    /// </summary>
    private void Report(object message)
    {
        if (message is MountsFailed)
        {
            if (_failureReported)
                return;
            _failureReported = true;
        }
        else
        {
            if (_readyReported || _failureReported)
                return;
            _readyReported = true;
        }
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
