using Akka.Actor;
using FlatImage.Actors.Hosting;

namespace FlatImage.Actors.Diagnostics;

/// <summary>Answers <see cref="Ping"/> with <see cref="PingResult"/>: proves the actor runtime works in the published binary.</summary>
public sealed class EchoActor : ReceiveActor
{
    public EchoActor() => Receive<Ping>(HandlePing);

    public static Props Props() => ActorProps.From(() => new EchoActor());

    private void HandlePing(Ping ping) => Sender.Tell(new PingResult(ping.Payload));
}

public sealed record Ping(string Payload);

public sealed record PingResult(string Payload);
