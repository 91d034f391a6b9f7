using Akka.Actor;
using Akka.Event;
using FlatImage.Actors.Hosting;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;

namespace FlatImage.Actors.Mounts;

/// <summary>
/// Owns one layer mount: for a run, the one FUSE server of its whole read-only stack, merged
/// (<c>layers</c> under MountSupervisor); for `fim-layer mount`, whatever it serves. Mounts in
/// PreStart and tells <c>reportTo</c> (default: the parent) <see cref="MountReady"/>, or
/// <see cref="MountFailed"/> and stops. A worker whose loop failed is restarted on the same
/// connection fd (the fd outlives the worker); a handler fault is only logged, since the session
/// already answered that request with EIO and kept serving. If the connection ends under us
/// (someone unmounted or aborted it) the actor stops. PostStop unmounts, lazily as a last resort,
/// and never throws.
///
/// Restarts keep the mount: the default PreRestart would call PostStop and unmount, so PreRestart
/// is overridden and the mount lives in a holder shared by the actor's incarnations (created by
/// <see cref="Props"/>, one per actor), which the next incarnation adopts instead of mounting again.
/// </summary>
public sealed class LayerMountActor : ReceiveActor
{
    private readonly LayerMountOptions _options;
    private readonly IActorRef? _reportTo;
    private readonly MountHolder _holder;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Public for Akka's activator only: create the actor through <see cref="Props"/>.</summary>
    public LayerMountActor(LayerMountOptions options, IActorRef? reportTo, MountHolder holder)
    {
        _options = options;
        _reportTo = reportTo;
        _holder = holder;
        Receive<FuseWorkerFaulted>(HandleWorkerFaulted);
        Receive<SessionEnded>(HandleSessionEnded);
        // Tests only: the live mount, to reach its session.
        Receive<GetLayerMount>(_ => Sender.Tell(new GetLayerMountResult(_holder.Mount)));
    }

    /// <summary>
    /// Props for one actor: each call creates the holder its incarnations share, so use the
    /// returned Props for exactly one ActorOf. <paramref name="reportTo"/> gets MountReady or
    /// MountFailed; null means the parent.
    /// </summary>
    public static Props Props(LayerMountOptions options, IActorRef? reportTo = null)
    {
        var holder = new MountHolder();
        // A factory lambda, not Props.Create<T>(): under NativeAOT a constructor found by reflection may be trimmed away.
        return Akka.Actor.Props.Create(() => new LayerMountActor(options, reportTo, holder)).WithDispatcher(ActorDispatchers.Blocking);
    }

    private IActorRef ReportTo => _reportTo ?? Context.Parent;

    protected override void PreStart()
    {
        var mount = _holder.Mount;
        if (mount is null)
        {
            var self = Self;
            try
            {
                // The session reports faults on its worker threads; they only Tell (never block a worker).
                mount = LayerMount.Start(_options, fault => self.Tell(new FuseWorkerFaulted(fault)));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Reported to whoever waits for the mount, with the reason, rather than thrown as an
                // ActorInitializationException that only a log would show.
                ReportTo.Tell(new MountFailed(_options.Mountpoint, e));
                Context.Stop(Self);
                return;
            }
            _holder.Mount = mount;
        }
        // Completion: every worker ended because the connection ended (or the session was disposed).
        mount.Session.Completion.PipeTo(Self, success: () => SessionEnded.Instance, failure: _ => SessionEnded.Instance);
        ReportTo.Tell(new MountReady(mount.Mountpoint));
    }

    /// <summary>Keeps the mount across a restart: the next incarnation adopts it from the holder.</summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Warning(reason, "layer mount {0}: restarting the owner, the mount stays", _options.Mountpoint);
    }

    protected override void PostStop()
    {
        var mount = _holder.Mount;
        _holder.Mount = null;
        if (mount is null) return;
        try
        {
            mount.Stop(message => _log.Warning("layer mount {0}: {1}", _options.Mountpoint, message));
        }
        catch (Exception e)
        {
            // Stop logs and never throws by contract; this is the backstop so PostStop truly never throws.
            _log.Error(e, "layer mount {0}: teardown failed", _options.Mountpoint);
        }
    }

    private void HandleWorkerFaulted(FuseWorkerFaulted message)
    {
        var fault = message.Fault;
        var mount = _holder.Mount;
        if (!fault.WorkerStopped)
        {
            _log.Warning(fault.Exception, "layer mount {0}: worker {1} failed on {2}; the request got EIO, the worker serves on",
                _options.Mountpoint, fault.Worker, fault.Opcode?.ToString() ?? "a request");
            return;
        }
        if (mount is null || mount.Session.Ended) return;
        _log.Warning(fault.Exception, "layer mount {0}: worker {1} stopped; restarting it on the same connection",
            _options.Mountpoint, fault.Worker);
        try
        {
            mount.Session.RestartWorker(fault.Worker);
        }
        catch (InvalidOperationException e)
        {
            // The session is stopping (we are being torn down): nothing left to restart.
            _log.Warning("layer mount {0}: worker {1} not restarted: {2}", _options.Mountpoint, fault.Worker, e.Message);
        }
    }

    private void HandleSessionEnded(SessionEnded _)
    {
        var mount = _holder.Mount;
        if (mount is null || !mount.Session.Ended) return;
        _log.Warning("layer mount {0}: the FUSE connection ended (unmounted or aborted from outside)", _options.Mountpoint);
        Context.Stop(Self);
    }

    /// <summary>
    /// What an actor's incarnations share: the live mount. Touched only from the actor's own thread.
    /// Opaque outside this type (public only because the activator needs a public constructor).
    /// </summary>
    public sealed class MountHolder
    {
        internal MountHolder() { }

        internal LayerMount? Mount;
    }
}

/// <summary>Event: the layers are mounted at <paramref name="Mountpoint"/> and served.</summary>
public sealed record MountReady(string Mountpoint);

/// <summary>Event: mounting failed; the actor stops. <paramref name="Cause"/> says why in one line.</summary>
public sealed record MountFailed(string Mountpoint, Exception Cause);

/// <summary>A FUSE worker reported a fault (sent by the session's worker thread to the actor).</summary>
public sealed record FuseWorkerFaulted(FuseWorkerFault Fault);

/// <summary>The session's workers all ended. A singleton: it carries nothing.</summary>
public sealed record SessionEnded
{
    public static SessionEnded Instance { get; } = new();
    private SessionEnded() { }
}

/// <summary>Test hook (internal): asks for the live <see cref="LayerMount"/>.</summary>
internal sealed record GetLayerMount
{
    public static GetLayerMount Instance { get; } = new();
    private GetLayerMount() { }
}

/// <summary>Reply to <see cref="GetLayerMount"/>; null when nothing is mounted.</summary>
internal sealed record GetLayerMountResult(LayerMount? Mount);
