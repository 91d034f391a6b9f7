using Akka.Actor;
using Akka.Event;
using FlatImage.Runtime.Portal;

namespace FlatImage.Actors.Portal;

/// <summary>
/// The host side of the portal (guest → host, docs/cli.md §14): owns the instance's host socket and
/// accepts on it from a dedicated thread; each connection becomes a <see cref="PortalSessionActor"/>
/// child that runs one host command. Started by the instance before the sandbox, only with the
/// <c>portal</c> permission (§16b), and stopped after it: stopping kills what the sessions still run.
/// </summary>
public sealed class PortalHostActor : ReceiveActor
{
    private readonly PortalListener _listener;
    private readonly uint _ownerUid;
    private readonly string _searchPath;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _sessions;

    /// <param name="listener">already listening (so the socket exists before the sandbox starts); owned by this actor from here.</param>
    public PortalHostActor(PortalListener listener, uint ownerUid, string searchPath)
    {
        _listener = listener;
        _ownerUid = ownerUid;
        _searchPath = searchPath;
        Receive<ConnectionAccepted>(HandleAccepted);
    }

    public static Props Props(PortalListener listener, uint ownerUid, string searchPath) =>
        Akka.Actor.Props.Create(() => new PortalHostActor(listener, ownerUid, searchPath));

    /// <summary>A session that throws ends that one call; the portal keeps serving.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(0, TimeSpan.Zero, _ => Directive.Stop);

    protected override void PreStart()
    {
        var self = Self;
        var listener = _listener;
        // accept(2) blocks a thread of its own; Dispose in PostStop wakes it (shutdown) and it ends.
        new Thread(() =>
        {
            while (listener.Accept() is { } connection)
                self.Tell(new ConnectionAccepted(connection));
        })
        {
            IsBackground = true,
            Name = "portal-accept",
        }.Start();
        _log.Info("portal listening on {0}", _listener.Path);
    }

    private void HandleAccepted(ConnectionAccepted accepted) =>
        Context.ActorOf(PortalSessionActor.Props(accepted.Connection, _ownerUid, _searchPath), $"session-{++_sessions}");

    /// <summary>Children (sessions) are already stopped here; the socket goes last.</summary>
    protected override void PostStop() => _listener.Dispose();
}

/// <summary>The accept thread got a connection; its session actor owns it from here.</summary>
public sealed record ConnectionAccepted(PortalConnection Connection);
