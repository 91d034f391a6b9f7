using Akka.Actor;
using FlatImage.Native.Spawn;

namespace FlatImage.Actors.Processes;

/// <summary>A child process an actor owns (bwrap, an overlay daemon) ended with this raw wait status.</summary>
public sealed record ChildExited(int Pid, int WaitStatus)
{
    /// <summary>
    /// Tells <paramref name="owner"/> a <see cref="ChildExited"/> when <paramref name="child"/> ends.
    /// The wait blocks a dedicated thread, not the actor: the result comes back as a message.
    /// </summary>
    public static void Report(ChildProcess child, IActorRef owner, string threadName) =>
        new Thread(() => owner.Tell(new ChildExited(child.Pid, child.WaitForExit(Timeout.InfiniteTimeSpan)!.Value)))
        {
            IsBackground = true,
            Name = threadName,
        }.Start();
}
