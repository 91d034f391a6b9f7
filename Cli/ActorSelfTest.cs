using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Diagnostics;
using FlatImage.Actors.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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
        using var host = LauncherActorSystem.Build();
        host.StartAsync().GetAwaiter().GetResult();
        var echo = host.Services.GetRequiredService<IRequiredActor<EchoActor>>().ActorRef;
        var reply = echo.Ask<PingResult>(new Ping("ping"), TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        output.WriteLine($"actors: {reply.Payload} in {clock.Elapsed.TotalMilliseconds:F1} ms");
        host.StopAsync().GetAwaiter().GetResult();
        return 0;
    }
}
