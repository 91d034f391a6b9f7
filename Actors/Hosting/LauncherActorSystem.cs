using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FlatImage.Actors.Hosting;

/// <summary>
/// The launcher's actor system under Akka.Hosting. Configuration is code (builders, no HOCON type
/// names) so it works under NativeAOT; top-level actors are created and registered here, in one place.
/// </summary>
public static class LauncherActorSystem
{
    /// <param name="name">The actor system's name.</param>
    /// <param name="actors">
    /// Creates and registers the command's own top-level actors (e.g. `fim-layer mount`'s
    /// LayerMountActor), next to the ones every launcher has.
    /// </param>
    public static IHost Build(string name = "flatimage", Action<ActorSystem, IActorRegistry>? actors = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton<IHostLifetime, SignalFreeHostLifetime>();
        builder.Services.AddAkka(name, akka =>
        {
            akka.ConfigureLoggers(loggers => loggers.LogLevel = Akka.Event.LogLevel.WarningLevel);
            // Akka's CLR shutdown hook registers its own SIGTERM/SIGHUP handlers (PosixTerminationSignalHandler)
            // and runs CoordinatedShutdown from them, racing the launcher's handling. Signals reach
            // CoordinatedShutdown by one route only: the command's PosixSignalRegistration (style.md).
            // Plain HOCON without type names: safe under NativeAOT.
            akka.AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend);
            akka.WithActors((system, registry) =>
            {
                registry.TryRegister<EchoActor>(system.ActorOf(EchoActor.Props(), "echo"));
                actors?.Invoke(system, registry);
            });
        });
        return builder.Build();
    }
}
