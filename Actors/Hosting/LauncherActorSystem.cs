using System.Diagnostics.CodeAnalysis;
using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Diagnostics;
using FlatImage.Actors.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlatImage.Actors.Hosting;

/// <summary>
/// The launcher's actor system under Akka.Hosting. Configuration is code (builders, no HOCON type
/// names) so it works under NativeAOT; top-level actors are created and registered here, in one place.
/// </summary>
public static class LauncherActorSystem
{
    /// <param name="name">The actor system's name.</param>
    /// <param name="actors">
    /// Creates and registers the command's own top-level actors (the run's InstanceActor,
    /// `fim-layer mount`'s LayerMountActor), next to the ones every launcher has.
    /// </param>
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(SerilogLoggerActor))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(SilentStandardOutLogger))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(LocalOnlySerializer))]
    public static IHost Build(string name = "flatimage", Action<ActorSystem, IActorRegistry>? actors = null)
    {
        NoApplicationConfiguration.Install();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton<IHostLifetime, SignalFreeHostLifetime>();
        // The container makes what the host asks for at every start, and what it makes from an open
        // generic registration (ILogger<>, IOptions<>, IOptionsMonitor<>, ...) is a closed type that
        // NativeAOT builds at run time (4.5 to 7% of `fim-exec true`'s CPU samples before,
        // bench/results/start.md). Three closed registrations below leave only ILogger<> of the
        // host's own types and Akka.Hosting's IRequiredActor<> to build; each keeps the behaviour
        // the empty builder had:
        // - Nothing listens to Microsoft.Extensions.Logging (the empty builder adds no provider; Akka
        //   logs through Serilog), so the null factory drops nothing, and the default factory's
        //   options (filter, factory options, their monitor, cache and configurators) are not made.
        builder.Services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        // - The host's options are their defaults: the empty builder's configuration has no key to
        //   change them.
        builder.Services.AddSingleton(Options.Create(new HostOptions()));
        // - No options of ours are validated at start; the one validation the builder registers
        //   makes the metrics listeners (there are none: MetricsSupport is off in the launcher).
        builder.Services.AddSingleton<IStartupValidator, NoStartupValidation>();
        builder.Services.AddAkka(name, akka =>
        {
            // Plain HOCON; its type names are kept for NativeAOT by the DynamicDependency attributes above.
            // - Akka's own standard-out logger (used while the system starts and stops) stays silent:
            //   on a successful run the program's output is the only output.
            //   Its class is replaced too (SilentStandardOutLogger): no fallback path may print.
            // - Akka's CLR shutdown hook registers its own SIGTERM/SIGHUP handlers and runs
            //   CoordinatedShutdown from them, racing the launcher's handling. Signals reach
            //   CoordinatedShutdown by one route only: the command's PosixSignalRegistration (docs/contributing.md).
            // - Messages stay in the process: Newtonsoft.Json is not the serializer of last resort (LocalOnlySerializer).
            akka.AddHocon(
                "akka.stdout-loglevel = OFF\n" +
                $"akka.stdout-logger-class = \"{typeof(SilentStandardOutLogger).AssemblyQualifiedName}\"\n" +
                $"akka.actor.serializers.json = \"{typeof(LocalOnlySerializer).AssemblyQualifiedName}\"\n" +
                "akka.log-dead-letters = off\nakka.coordinated-shutdown.run-by-clr-shutdown-hook = off",
                HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
            {
                // Info, even with FIM_DEBUG=1: Akka's debug chatter helps no user, and at debug level its
                // shutdown falls back to the standard-out logger for one line.
                loggers.LogLevel = Akka.Event.LogLevel.InfoLevel;
                loggers.ClearLoggers();
                loggers.AddLogger<SerilogLoggerActor>();
            });
            akka.WithActors((system, registry) =>
            {
                registry.TryRegister<EchoActor>(system.ActorOf(EchoActor.Props(), "echo"));
                actors?.Invoke(system, registry);
            });
        });
        return builder.Build();
    }

    private sealed class NoStartupValidation : IStartupValidator
    {
        public void Validate()
        {
        }
    }
}
