using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Diagnostics;
using FlatImage.Actors.Instance;
using FlatImage.Actors.Logging;
using FlatImage.Runtime.Image;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FlatImage.Actors.Hosting;

/// <summary>
/// The launcher's actor system under Akka.Hosting. Configuration is code (builders, no HOCON type
/// names) so it works under NativeAOT; top-level actors are created and registered here, in one place.
/// </summary>
public static class LauncherActorSystem
{
    /// <param name="layerMount">how a layer is mounted (one actor per layer; injected so tests can use their own).</param>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(SerilogLoggerActor))]
    public static IHost Build(Func<LayerLocation, string, Props>? layerMount = null, string name = "flatimage")
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddAkka(name, akka =>
        {
            // Akka's own standard-out logger (used while the system starts and stops) stays silent:
            // on a successful run the program's output is the only output. No type names here.
            akka.AddHocon("akka.stdout-loglevel = OFF\nakka.log-dead-letters = off", HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = Serilog.Log.IsEnabled(Serilog.Events.LogEventLevel.Debug) ? Akka.Event.LogLevel.DebugLevel : Akka.Event.LogLevel.InfoLevel;
                loggers.ClearLoggers();
                loggers.AddLogger<SerilogLoggerActor>();
            });
            akka.WithActors((system, registry) =>
            {
                registry.TryRegister<EchoActor>(system.ActorOf(EchoActor.Props(), "echo"));
                if (layerMount is not null)
                    registry.TryRegister<InstanceActor>(system.ActorOf(InstanceActor.Props(layerMount), "instance"));
            });
        });
        return builder.Build();
    }
}
