using Akka.Actor;
using FlatImage.Actors.Hosting;

namespace FlatImage.Actors.Diagnostics;

/// <summary>Answers <see cref="Ping"/> with <see cref="PingResult"/>: proves the actor runtime works in the published binary.</summary>
public sealed class EchoActor : UntypedActor
{
    public static Props Props() => ActorProps.From(() => new EchoActor());

    protected override void OnReceive(object message)
    {
        if (message is Ping ping)
            HandlePing(ping);
        else
            Unhandled(message);
    }

    private void HandlePing(Ping ping) => Sender.Tell(new PingResult(ping.Payload));
}

public sealed record Ping(string Payload);

public sealed record PingResult(string Payload);
