using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FlatImage.Cli.Hosting;

/// <summary>
/// The actor system of one command, started and stopped the same way by every command that needs
/// one (a run, <c>fim-layer mount</c>, <c>fim-layer commit</c>, the self-test):
/// <list type="bullet">
/// <item>built by <see cref="LauncherActorSystem"/> and started on a pool thread, so that the
/// command can do work that needs no actor meanwhile (building the host, mostly the dependency
/// injection container resolving its services, is a good part of that start: a run's planning goes
/// on beside it);</item>
/// <item>signals take one route (docs/contributing.md, "Shutdown has one path"): once the command
/// calls <see cref="RouteSignals"/>, SIGINT, SIGTERM and SIGHUP become a call to its handler and
/// their default action (exit) is cancelled, until the host is stopped;</item>
/// <item><see cref="Stop"/> (or disposing) runs CoordinatedShutdown and stops the host, after
/// which no actor is left holding a mount or a process.</item>
/// </list>
/// </summary>
internal sealed class CommandActorHost : IDisposable
{
    private readonly Task<IHost> _starting;
    private List<PosixSignalRegistration>? _signals;
    private bool _stopped;

    private CommandActorHost(Action<ActorSystem, IActorRegistry>? actors)
    {
        _starting = Task.Run(async () =>
        {
            var host = LauncherActorSystem.Build(actors: actors);
            try
            {
                await host.StartAsync().ConfigureAwait(false);
            }
            catch
            {
                host.Dispose();
                throw;
            }
            return host;
        });
    }

    /// <param name="actors">creates and registers the command's own top-level actors (see <see cref="LauncherActorSystem.Build"/>).</param>
    public static CommandActorHost Start(Action<ActorSystem, IActorRegistry>? actors = null) => new(actors);

    /// <summary>Waits until the actor system is up; throws what its build or start threw.</summary>
    public void WaitUntilUp() => Host();

    private IHost Host() => _starting.GetAwaiter().GetResult();

    /// <summary>A top-level actor the command registered, once the system is up.</summary>
    public IActorRef Actor<TKey>() => Host().Services.GetRequiredService<IRequiredActor<TKey>>().ActorRef;

    /// <summary>The actor system itself, once it is up.</summary>
    public ActorSystem System => Host().Services.GetRequiredService<ActorSystem>();

    /// <summary>
    /// From now until <see cref="Stop"/>, SIGINT, SIGTERM and SIGHUP call <paramref name="handler"/>
    /// with the signal's number instead of ending the process. The handler runs on the runtime's
    /// signal thread: it should only tell an actor or set an event.
    /// </summary>
    public void RouteSignals(Action<int> handler)
    {
        _signals ??= [];
        foreach (var (signal, number) in new[] { (PosixSignal.SIGINT, 2), (PosixSignal.SIGTERM, 15), (PosixSignal.SIGHUP, 1) })
            _signals.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                handler(number);
            }));
    }

    /// <summary>Runs CoordinatedShutdown and stops the host; signals take their default action again. Once.</summary>
    public void Stop()
    {
        if (_stopped)
            return;
        _stopped = true;
        _signals?.ForEach(r => r.Dispose());
        if (Started() is { } host)
            host.StopAsync().GetAwaiter().GetResult();
    }

    /// <summary>The host once its start has ended; null when the start failed (it disposed what it built, and WaitUntilUp gave the command its exception).</summary>
    private IHost? Started()
    {
        try
        {
            return Host();
        }
        catch (Exception)
        {
            return null;
        }
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        finally
        {
            Started()?.Dispose();
        }
    }
}
