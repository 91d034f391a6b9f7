using Akka.Actor;
using Akka.Event;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;

namespace FlatImage.Actors.Mounts;

/// <summary>
/// Owns one FUSE mount served by this process; <see cref="LayerMountActor"/> and
/// <see cref="CasefoldMountActor"/> only say how to start theirs. Mounts in PreStart and tells
/// <c>reportTo</c> (default: the parent) <see cref="MountReady"/>, or <see cref="MountFailed"/>
/// and stops. A worker whose loop failed is restarted on the same connection fd (the fd outlives
/// the worker); a handler fault is only logged, since the session already answered that request
/// with EIO and kept serving. If the connection ends under us (someone unmounted or aborted it)
/// the actor stops. PostStop unmounts, lazily as a last resort, and never throws.
///
/// Restarts keep the mount: the default PreRestart would call PostStop and unmount, so PreRestart
/// is overridden and the mount lives in a <see cref="MountHolder{TMount}"/> shared by the actor's
/// incarnations (created by the subclass's Props, one per actor), which the next incarnation
/// adopts instead of mounting again.
/// </summary>
public abstract class ServedMountActor<TMount> : UntypedActor where TMount : class, IServedMount
{
    private readonly string _mountpoint;
    private readonly IActorRef? _reportTo;
    private readonly MountHolder<TMount> _holder;
    private readonly string _what;

    protected ServedMountActor(string what, string mountpoint, IActorRef? reportTo, MountHolder<TMount> holder)
    {
        _what = what;
        _mountpoint = mountpoint;
        _reportTo = reportTo;
        _holder = holder;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case FuseWorkerFaulted fuseWorkerFaulted:
                HandleWorkerFaulted(fuseWorkerFaulted);
                break;
            case SessionEnded:
                HandleSessionEnded();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    protected ILoggingAdapter Log { get; } = Context.GetLogger();

    /// <summary>The live mount, or null before it is made and after it is taken down.</summary>
    protected TMount? Mount => _holder.Mount;

    /// <summary>Mounts and starts serving. <paramref name="onFault"/> is called on worker threads: it only Tells.</summary>
    protected abstract TMount StartMount(Action<FuseWorkerFault> onFault);

    private IActorRef ReportTo => _reportTo ?? Context.Parent;

    protected override void PreStart()
    {
        var mount = _holder.Mount;
        if (mount is null)
        {
            var self = Self;
            try
            {
                mount = StartMount(fault => self.Tell(new FuseWorkerFaulted(fault)));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Reported to whoever waits for the mount, with the reason, rather than thrown as an
                // ActorInitializationException that only a log would show.
                ReportTo.Tell(new MountFailed(_mountpoint, e));
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
    protected override void PreRestart(Exception reason, object message) =>
        Log.Warning(reason, "{0} {1}: restarting the owner, the mount stays", _what, _mountpoint);

    protected override void PostStop()
    {
        var mount = _holder.Mount;
        _holder.Mount = null;
        if (mount is null) return;
        try
        {
            mount.Stop(message => Log.Warning("{0} {1}: {2}", _what, _mountpoint, message));
        }
        catch (Exception e)
        {
            // Stop logs and never throws by contract; this is the backstop so PostStop truly never throws.
            Log.Error(e, "{0} {1}: teardown failed", _what, _mountpoint);
        }
    }

    private void HandleWorkerFaulted(FuseWorkerFaulted message)
    {
        var fault = message.Fault;
        var mount = _holder.Mount;
        if (!fault.WorkerStopped)
        {
            Log.Warning(fault.Exception, "{0} {1}: worker {2} failed on {3}; the request got EIO, the worker serves on",
                _what, _mountpoint, fault.Worker, fault.Opcode?.ToString() ?? "a request");
            return;
        }
        if (mount is null || mount.Session.Ended) return;
        Log.Warning(fault.Exception, "{0} {1}: worker {2} stopped; restarting it on the same connection", _what, _mountpoint, fault.Worker);
        try
        {
            mount.Session.RestartWorker(fault.Worker);
        }
        catch (InvalidOperationException e)
        {
            // The session is stopping (we are being torn down): nothing left to restart.
            Log.Warning("{0} {1}: worker {2} not restarted: {3}", _what, _mountpoint, fault.Worker, e.Message);
        }
    }

    private void HandleSessionEnded()
    {
        var mount = _holder.Mount;
        if (mount is null || !mount.Session.Ended) return;
        Log.Warning("{0} {1}: the FUSE connection ended (unmounted or aborted from outside)", _what, _mountpoint);
        Context.Stop(Self);
    }
}

/// <summary>
/// What an actor's incarnations share: the live mount. Touched only from the actor's own thread.
/// Opaque outside this assembly (public only because the activator needs public constructors).
/// </summary>
public sealed class MountHolder<TMount> where TMount : class
{
    internal MountHolder() { }

    internal TMount? Mount;
}

/// <summary>Event: the mount at <paramref name="Mountpoint"/> is made and served.</summary>
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
