namespace FlatImage.Actors.Hosting;

/// <summary>Which threads actors run on, where it is not the default dispatcher.</summary>
public static class ActorDispatchers
{
    /// <summary>
    /// A thread of the actor's own (Akka's PinnedDispatcher; this id is in Akka's reference
    /// configuration, so every actor system, test kits included, has it). For the owners of a
    /// kernel object whose setting up and tearing down block by nature and cannot be split into
    /// messages without adding latency to every start: waiting for FUSE_INIT or for a daemon's
    /// mount to appear, unmounting, reaping a child with a grace period. On a thread of their
    /// own those waits never hold up the default dispatcher, where the instance, the supervisors
    /// and the portal keep answering (a signal, a second mount's report) meanwhile.
    /// </summary>
    public const string Blocking = "akka.io.pinned-dispatcher";
}
