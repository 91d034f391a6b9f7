using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;
using FlatImage.Actors.Hosting;
using FlatImage.Actors.Processes;
using FlatImage.Native.Interop;
using FlatImage.Native.Spawn;

namespace FlatImage.Actors.Sandbox;

/// <summary>
/// Owns the bwrap process of one run. It inherits the launcher's stdin, stdout and stderr, so the
/// program talks to the terminal directly. Its exit ends the instance: the parent gets
/// <see cref="SandboxExited"/> with the shell-style status (128+N for a signal).
/// </summary>
public sealed class SandboxActor : UntypedActor
{
    private readonly string _bwrap;
    private readonly IReadOnlyList<string> _arguments;
    private readonly IReadOnlyList<string> _environment;
    private readonly IReadOnlyList<(SafeHandle Fd, int ChildFd)> _inheritedFds;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ChildProcess? _child;

    public SandboxActor(string bwrap, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, IReadOnlyList<(SafeHandle Fd, int ChildFd)> inheritedFds)
    {
        _inheritedFds = inheritedFds;
        _bwrap = bwrap;
        _arguments = arguments;
        _environment = environment;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ChildExited childExited:
                HandleChildExited(childExited);
                break;
            case ForwardSignal forwardSignal:
                HandleForwardSignal(forwardSignal);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    /// <param name="inheritedFds">handed to bwrap at their child numbers (the root caller's user namespace); this actor closes them once bwrap has them.</param>
    public static Props Props(string bwrap, IReadOnlyList<string> arguments, IReadOnlyList<string> environment, IReadOnlyList<(SafeHandle Fd, int ChildFd)> inheritedFds) =>
        ActorProps.From(() => new SandboxActor(bwrap, arguments, environment, inheritedFds)).WithDispatcher(ActorDispatchers.Blocking);

    protected override void PreStart()
    {
        _log.Info("starting {0} {1}", _bwrap, string.Join(' ', _arguments));
        try
        {
            _child = ChildProcess.Start(_bwrap, [_bwrap, .. _arguments], _environment, _inheritedFds);
        }
        finally
        {
            // bwrap has its own copies now (or never will): ours go.
            foreach (var (fd, _) in _inheritedFds)
                fd.Dispose();
        }
        ChildExited.Report(_child, Self, "bwrap-wait");
    }

    private void HandleChildExited(ChildExited exited)
    {
        int status = ExitStatus.ToShellStatus(exited.WaitStatus);
        _log.Info("bwrap {0} exited: {1}", exited.Pid, ChildProcess.Describe(exited.WaitStatus));
        Context.Parent.Tell(new SandboxExited(status));
        Context.Stop(Self);
    }

    private void HandleForwardSignal(ForwardSignal forward)
    {
        if (_child is { ExitStatus: null } child)
            child.Kill(forward.Signal);
    }

    /// <summary>A sandbox still running when the instance stops is terminated, then killed after 2 s.</summary>
    protected override void PostStop()
    {
        if (_child is null)
            return;
        _child.Stop(TimeSpan.FromSeconds(2), Signal.SIGTERM);
        _child.Dispose();
    }
}

/// <summary>Deliver a signal to the sandbox (SIGINT, SIGTERM, SIGHUP received by the launcher).</summary>
public sealed record ForwardSignal(int Signal);

/// <summary>The sandbox ended; <see cref="Status"/> is the program's exit status as a shell reports it.</summary>
public sealed record SandboxExited(int Status);
