using Akka.Actor;
using Akka.Event;
using FlatImage.Actors.Hosting;
using FlatImage.Runtime.Portal;

namespace FlatImage.Actors.Portal;

/// <summary>
/// The host side of the portal (guest → host, docs/cli.md §14): owns the instance's host socket,
/// accepted on by a <see cref="PortalAcceptLoop"/>; each connection becomes a
/// <see cref="PortalSessionActor"/> child that runs one host command. The actor reads one
/// connection at a time (ReadAsync piped to itself) and gives each session's slot back when its
/// child stops; the loop accepts only while a slot is free, so a flood of calls waits in the
/// socket's backlog, never in threads. Started by the instance before the sandbox, only with the
/// <c>portal</c> permission (§16b), and stopped after it: stopping kills what the sessions still run.
/// </summary>
public sealed class PortalHostActor : UntypedActor
{
    private readonly PortalListener _listener;
    private readonly uint _ownerUid;
    private readonly string _searchPath;
    private readonly int _maxSessions;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stopping = new();
    private PortalAcceptLoop? _accepting;
    private long _sessions;
    private bool _reading;

    /// <param name="listener">already listening (so the socket exists before the sandbox starts); owned by this actor from here.</param>
    /// <param name="maxSessions">sessions run at once (<see cref="PortalAcceptLoop.MaxSessions"/> unless a test says otherwise).</param>
    public PortalHostActor(PortalListener listener, uint ownerUid, string searchPath, int maxSessions)
    {
        _listener = listener;
        _ownerUid = ownerUid;
        _searchPath = searchPath;
        _maxSessions = maxSessions;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ConnectionAccepted connectionAccepted:
                HandleAccepted(connectionAccepted);
                break;
            case Terminated:
                _accepting?.SessionEnded();
                break;
            case ListenerClosed:
                _log.Debug("portal socket closed");
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(PortalListener listener, uint ownerUid, string searchPath, int maxSessions = PortalAcceptLoop.MaxSessions) =>
        ActorProps.From(() => new PortalHostActor(listener, ownerUid, searchPath, maxSessions));

    /// <summary>A session that throws ends that one call; the portal keeps serving.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(0, TimeSpan.Zero, _ => Directive.Stop);

    protected override void PreStart()
    {
        _accepting = new PortalAcceptLoop(_listener, _maxSessions);
        _log.Info("portal listening on {0}", _listener.Path);
        ReadNext();
    }

    /// <summary>Asks the channel for one connection, unless a read is pending.</summary>
    private void ReadNext()
    {
        if (_reading || _accepting is null)
            return;
        _reading = true;
        // A read cancelled by PostStop takes no connection: what is still queued, the loop closes.
        _accepting.Connections.ReadAsync(_stopping.Token).AsTask().PipeTo(Self,
            success: connection => new ConnectionAccepted(connection),
            failure: _ => ListenerClosed.Instance);
    }

    private void HandleAccepted(ConnectionAccepted accepted)
    {
        _reading = false;
        Context.Watch(Context.ActorOf(PortalSessionActor.Props(accepted.Connection, _ownerUid, _searchPath), $"session-{++_sessions}"));
        ReadNext();
    }

    /// <summary>Children (sessions) are already stopped here; the socket goes last.</summary>
    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        if (_accepting is not null)
            _accepting.Dispose();
        else
            _listener.Dispose();
    }
}

/// <summary>The accept loop handed over a connection; its session actor owns it from here.</summary>
public sealed record ConnectionAccepted(PortalConnection Connection);

/// <summary>The accept loop's channel completed: the socket is closed.</summary>
public sealed record ListenerClosed
{
    public static readonly ListenerClosed Instance = new();
}
