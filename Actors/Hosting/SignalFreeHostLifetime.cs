using Microsoft.Extensions.Hosting;

namespace FlatImage.Actors.Hosting;

/// <summary>
/// The host's default lifetime (ConsoleLifetime) turns SIGINT, SIGTERM and SIGQUIT into
/// StopApplication by itself, racing the launcher's own handling (as Akka's CLR shutdown hook
/// would; LauncherActorSystem turns that off). Signals reach
/// CoordinatedShutdown by one route only (docs/contributing.md, "Shutdown has one path"): the command's
/// PosixSignalRegistration. So the host gets a lifetime that does nothing.
/// </summary>
internal sealed class SignalFreeHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
