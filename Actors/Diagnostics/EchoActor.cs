using Akka.Actor;

namespace FlatImage.Actors.Diagnostics;

/// <summary>Answers <see cref="Ping"/> with <see cref="PingResult"/>: proves the actor runtime works in the published binary.</summary>
public sealed class EchoActor : ReceiveActor
{
    public EchoActor() => Receive<Ping>(HandlePing);

    // A factory lambda, not Props.Create<T>(): under NativeAOT a constructor found by reflection may be trimmed away.
    public static Props Props() => Akka.Actor.Props.Create(() => new EchoActor());

    private void HandlePing(Ping ping) => Sender.Tell(new PingResult(ping.Payload));
}

public sealed record Ping(string Payload);

public sealed record PingResult(string Payload);
