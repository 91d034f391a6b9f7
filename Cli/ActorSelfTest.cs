using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Diagnostics;
using FlatImage.Cli.Hosting;

namespace FlatImage.Cli;

/// <summary>
/// <c>FIM_SELFTEST=actors</c>: start the launcher's actor system, ask one actor, stop, and print
/// the round trip. Used by the tests and the benchmark to prove Akka.NET runs in the NativeAOT binary.
/// </summary>
public static class ActorSelfTest
{
    public static int Run(TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        using var host = CommandActorHost.Start();
        var echo = host.Actor<EchoActor>();
        var reply = echo.Ask<PingResult>(new Ping("ping"), TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        output.WriteLine($"actors: {reply.Payload} in {clock.Elapsed.TotalMilliseconds:F1} ms");
        host.Stop();
        return 0;
    }
}
