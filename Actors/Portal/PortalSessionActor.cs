using Akka.Actor;
using Akka.Event;
using FlatImage.Actors.Hosting;
using FlatImage.Runtime.Portal;

namespace FlatImage.Actors.Portal;

/// <summary>
/// One portal call on the host: owns the connection and the process it starts (a
/// <see cref="PortalSession"/>, run on a dedicated thread because it blocks on the process). The
/// session's end comes back as <see cref="SessionEnded"/> and stops the actor; an actor stopped
/// earlier (the instance is ending) kills the process and closes the connection in PostStop.
/// </summary>
public sealed class PortalSessionActor : UntypedActor
{
    private readonly PortalSession _session;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public PortalSessionActor(PortalConnection connection, uint ownerUid, string searchPath)
    {
        _session = new PortalSession(connection, ownerUid, searchPath);
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case SessionEnded sessionEnded:
                HandleEnded(sessionEnded);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(PortalConnection connection, uint ownerUid, string searchPath) =>
        ActorProps.From(() => new PortalSessionActor(connection, ownerUid, searchPath));

    protected override void PreStart()
    {
        var self = Self;
        var session = _session;
        new Thread(() => self.Tell(new SessionEnded(session.Run(), session.Description)))
        {
            IsBackground = true,
            Name = "portal-session",
        }.Start();
    }

    private void HandleEnded(SessionEnded ended)
    {
        if (ended.Outcome is PortalSessionOutcome.Refused or PortalSessionOutcome.Dropped)
            _log.Warning("portal: {0}", ended.Description);
        else
            _log.Debug("portal: {0}", ended.Description);
        Context.Stop(Self);
    }

    protected override void PostStop() => _session.Dispose();
}

/// <summary>The session's thread finished: how, and what it ran.</summary>
public sealed record SessionEnded(PortalSessionOutcome Outcome, string Description);
