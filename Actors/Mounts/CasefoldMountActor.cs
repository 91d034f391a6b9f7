using Akka.Actor;
using Akka.Event;
using FlatImage.Runtime.Filesystems;

namespace FlatImage.Actors.Mounts;

/// <summary>
/// Owns the casefold mount of one run (docs/architecture.md, "Actors": casefold under MountSupervisor): the
/// case-insensitive, case-preserving view of the writable overlay that becomes the sandbox's root.
/// Mounts in PreStart and tells the parent <see cref="MountReady"/>, or <see cref="MountFailed"/>
/// and stops. A stopped FUSE worker is restarted on the same connection; a handler fault is only
/// logged (the request already got EIO). If the connection ends under us the actor stops. PostStop
/// unmounts, lazily as a last resort, and never throws. A restart keeps the mount (PreRestart is
/// overridden and the mount lives in a holder shared by the incarnations, as for layer mounts).
/// </summary>
public sealed class CasefoldMountActor : ReceiveActor
{
    private readonly CasefoldMountOptions _options;
    private readonly Holder _holder;
    private readonly IActorRef? _reportTo;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Public for Akka's activator only: create the actor through <see cref="Props"/>.</summary>
    public CasefoldMountActor(CasefoldMountOptions options, IActorRef? reportTo, Holder holder)
    {
        _options = options;
        _reportTo = reportTo;
        _holder = holder;
        Receive<FuseWorkerFaulted>(HandleWorkerFaulted);
        Receive<SessionEnded>(_ => HandleSessionEnded());
    }

    /// <summary>
    /// Props for exactly one ActorOf (each call creates the holder its incarnations share).
    /// <paramref name="reportTo"/> gets MountReady or MountFailed; null means the parent.
    /// </summary>
    public static Props Props(CasefoldMountOptions options, IActorRef? reportTo = null)
    {
        var holder = new Holder();
        return Akka.Actor.Props.Create(() => new CasefoldMountActor(options, reportTo, holder));
    }

    private IActorRef ReportTo => _reportTo ?? Context.Parent;

    protected override void PreStart()
    {
        var mount = _holder.Mount;
        if (mount is null)
        {
            var self = Self;
            var log = _log;
            try
            {
                // The filesystem logs from worker threads: the adapter is thread-safe, and a Tell never blocks a worker.
                mount = CasefoldMount.Start(_options with { Log = message => log.Warning("{0}", message) },
                    fault => self.Tell(new FuseWorkerFaulted(fault)));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                ReportTo.Tell(new MountFailed(_options.Mountpoint, e));
                Context.Stop(Self);
                return;
            }
            _holder.Mount = mount;
        }
        mount.Session.Completion.PipeTo(Self, success: () => SessionEnded.Instance, failure: _ => SessionEnded.Instance);
        ReportTo.Tell(new MountReady(mount.Mountpoint));
    }

    protected override void PreRestart(Exception reason, object message) =>
        _log.Warning(reason, "casefold mount {0}: restarting the owner, the mount stays", _options.Mountpoint);

    protected override void PostStop()
    {
        var mount = _holder.Mount;
        _holder.Mount = null;
        if (mount is null) return;
        try
        {
            mount.Stop(message => _log.Warning("casefold mount {0}: {1}", _options.Mountpoint, message));
        }
        catch (Exception e)
        {
            // Stop never throws by contract; this backstop keeps PostStop from throwing whatever happens.
            _log.Error(e, "casefold mount {0}: teardown failed", _options.Mountpoint);
        }
    }

    private void HandleWorkerFaulted(FuseWorkerFaulted message)
    {
        var fault = message.Fault;
        var mount = _holder.Mount;
        if (!fault.WorkerStopped)
        {
            _log.Warning(fault.Exception, "casefold mount {0}: worker {1} failed on {2}; the request got EIO, the worker serves on",
                _options.Mountpoint, fault.Worker, fault.Opcode?.ToString() ?? "a request");
            return;
        }
        if (mount is null || mount.Session.Ended) return;
        _log.Warning(fault.Exception, "casefold mount {0}: worker {1} stopped; restarting it on the same connection", _options.Mountpoint, fault.Worker);
        try
        {
            mount.Session.RestartWorker(fault.Worker);
        }
        catch (InvalidOperationException e)
        {
            _log.Warning("casefold mount {0}: worker {1} not restarted: {2}", _options.Mountpoint, fault.Worker, e.Message);
        }
    }

    private void HandleSessionEnded()
    {
        var mount = _holder.Mount;
        if (mount is null || !mount.Session.Ended) return;
        _log.Warning("casefold mount {0}: the FUSE connection ended (unmounted or aborted from outside)", _options.Mountpoint);
        Context.Stop(Self);
    }

    /// <summary>The live mount, shared by the actor's incarnations; touched only from the actor's thread.</summary>
    public sealed class Holder
    {
        internal Holder() { }

        internal CasefoldMount? Mount;
    }
}
