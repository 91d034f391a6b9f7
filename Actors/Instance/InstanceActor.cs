using Akka.Actor;
using Akka.Event;
using FlatImage.Actors.Hosting;
using FlatImage.Actors.Mounts;
using FlatImage.Actors.Portal;
using FlatImage.Actors.Sandbox;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Portal;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Actors.Instance;

/// <summary>
/// One run of the image. Boots in order — janitor, mounts (<see cref="MountSupervisor"/>), the host
/// portal (<see cref="PortalHostActor"/>, with the portal permission), then the sandbox
/// (<see cref="SandboxActor"/>) — and tears down in reverse when the sandbox exits, when a
/// mount fails, or on <see cref="StopInstance"/>. Answers <see cref="RunInstance"/> with
/// <see cref="RunInstanceResult"/> once everything is unmounted, then stops.
/// </summary>
public sealed class InstanceActor : UntypedActor
{
    private readonly Func<LayerMountOptions, Props> _layerMount;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef? _replyTo;
    private RunPlan? _plan;
    private JanitorProcess? _janitor;
    private InstanceLock? _lock;
    private IActorRef? _mounts;
    private IActorRef? _portal;
    private IActorRef? _sandbox;
    private int _status;
    private string? _error;
    private bool _finishing;
    private bool _mountsTornDown;
    private bool _completed;

    public InstanceActor(Func<LayerMountOptions, Props> layerMount)
    {
        _layerMount = layerMount;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case RunInstance runInstance:
                HandleRun(runInstance);
                break;
            case MountsReady mountsReady:
                HandleMountsReady(mountsReady);
                break;
            case MountsFailed mountsFailed:
                HandleMountsFailed(mountsFailed);
                break;
            case SandboxExited sandboxExited:
                HandleSandboxExited(sandboxExited);
                break;
            case StopInstance stopInstance:
                HandleStop(stopInstance);
                break;
            case Terminated terminated:
                HandleTerminated(terminated);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(Func<LayerMountOptions, Props> layerMount) =>
        ActorProps.From(() => new InstanceActor(layerMount));

    /// <summary>Children that throw are stopped: the run ends with their error instead of retrying a mount or a sandbox.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(0, TimeSpan.Zero, _ => Directive.Stop);

    private void HandleRun(RunInstance run)
    {
        _replyTo = Sender;
        _plan = run.Plan;
        _lock = run.Lock;
        _janitor = JanitorProcess.Start(run.Plan.JanitorProgram);
        // Whatever happens to this process, the janitor removes the instance and work directories at the end.
        _janitor.RemoveAtExit(run.Plan.Paths.Instance);
        _janitor.RemoveAtExit(run.Plan.Paths.WorkDirectory);
        _mounts = Context.ActorOf(MountSupervisor.Props(run.Plan, _janitor, _layerMount), "mounts");
        Context.Watch(_mounts);
    }

    private void HandleMountsReady(MountsReady ready)
    {
        _log.Info("mounts ready");
        var plan = _plan!;
        try
        {
            switch (LaunchPolicy.Decide(plan, ready.Root))
            {
                case LaunchDecision.Refusal refusal:
                    Fail(refusal.Message, refusal.Status);
                    return;
                case LaunchDecision.Launch launch:
                    if (plan.HostPortal)
                    {
                        // Listening before the sandbox starts, so the guest's first fim_portal call finds the socket.
                        var listener = PortalListener.Create(plan.Paths.PortalDispatcherSocket);
                        _portal = Context.ActorOf(PortalHostActor.Props(listener, Native.Interop.Unistd.getuid(), Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin"), "portal");
                        Context.Watch(_portal);
                    }
                    _log.Info("starting the sandbox");
                    _sandbox = Context.ActorOf(SandboxActor.Props(plan.Bwrap, launch.Arguments, launch.Environment, launch.InheritedFds), "sandbox");
                    Context.Watch(_sandbox);
                    return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Preparing the sandbox failed on the host side: end the run with the reason, in order.
            Fail(e.Message, 125);
        }
    }

    /// <summary>
    /// A mount that died is the run's outcome even when the sandbox's exit (the program losing its
    /// root: SIGBUS, EIO) reached this actor first and teardown has begun; the first failure wins.
    /// </summary>
    private void HandleMountsFailed(MountsFailed failed)
    {
        if (!_finishing)
        {
            Fail(failed.Reason, 125);
            return;
        }
        if (_error is not null)
            return;
        _log.Error("run failed: {0}", failed.Reason);
        _error = failed.Reason;
        _status = 125;
    }

    private void HandleSandboxExited(SandboxExited exited)
    {
        // A failure recorded first (a mount that died under the program) stays the run's outcome:
        // the program's own status then only says how the failure reached it (SIGBUS, EIO).
        if (_error is null)
            _status = exited.Status;
        _sandbox = null;
        Finish();
    }

    private void HandleStop(StopInstance stop)
    {
        if (_sandbox is not null)
            _sandbox.Tell(new ForwardSignal(stop.Signal));
        else
            Fail($"Stopped by signal {stop.Signal}", 128 + stop.Signal);
    }

    private void HandleTerminated(Terminated terminated)
    {
        if (terminated.ActorRef.Equals(_sandbox))
        {
            _sandbox = null;
            if (!_finishing)
                Fail("the sandbox failed to start (see the log)", 125);   // stopped without reporting an exit
            else
                TearDownMountsWhenAlone();
        }
        else if (terminated.ActorRef.Equals(_portal))
        {
            _portal = null;
            if (!_finishing)
                _log.Warning("the portal stopped; the program runs on without host calls");
            else
                TearDownMountsWhenAlone();
        }
        else if (terminated.ActorRef.Equals(_mounts))
        {
            _mounts = null;
            if (!_finishing)
                Fail("the mounts stopped unexpectedly", 125);   // _mounts is null: Finish completes
            else
                Complete();
        }
    }

    private void Fail(string error, int status)
    {
        if (_finishing)
            return;
        _log.Error("run failed: {0}", error);
        _error = error;
        _status = status;
        Finish();
    }

    /// <summary>Reverse boot order: the sandbox (if still there) and the portal, then, once both have stopped, the mounts.</summary>
    private void Finish()
    {
        if (_finishing)
            return;
        _finishing = true;
        if (_sandbox is not null)
            Context.Stop(_sandbox);
        if (_portal is not null)
            Context.Stop(_portal);
        TearDownMountsWhenAlone();
    }

    /// <summary>
    /// The mounts go only when nothing that uses them is left: the sandbox's processes work in
    /// them and portal sessions may run programs there. Unmounting under a program that is still
    /// being stopped would hand it ENOTCONN instead of its signal.
    /// </summary>
    private void TearDownMountsWhenAlone()
    {
        if (_sandbox is not null || _portal is not null || _mountsTornDown)
            return;
        _mountsTornDown = true;
        if (_mounts is not null)
            _mounts.Tell(TearDownMounts.Instance);
        else
            Complete();
    }

    private void Complete()
    {
        // Once: a Terminated that overtakes the supervisor's report must not answer twice.
        if (_completed)
            return;
        _completed = true;
        // Release the proof of life first: the janitor removes the instance directory only under its lock.
        _lock?.Dispose();
        _lock = null;
        _janitor?.Dispose();
        _janitor = null;
        _replyTo?.Tell(new RunInstanceResult(_status, _error));
        Context.Stop(Self);
    }

    protected override void PostStop()
    {
        _lock?.Dispose();
        _janitor?.Dispose();
    }
}

/// <summary>
/// Run the plan; answered with <see cref="RunInstanceResult"/> when everything is torn down. The
/// instance lock is handed over: the instance actor owns it from here and releases it at the end.
/// </summary>
public sealed record RunInstance(RunPlan Plan, InstanceLock Lock);

/// <summary>The program's exit status, or a launcher failure with its message (status 125, 126 or 127).</summary>
public sealed record RunInstanceResult(int Status, string? Error);

/// <summary>The launcher received a signal: pass it to the program, or stop booting.</summary>
public sealed record StopInstance(int Signal);
