using FlatImage.Native.Spawn;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// What every container command does for the desktop before its program starts (docs/cli.md §3.2
/// step 1, §3.10): refresh the installed integration, so that the entry follows a moved or
/// renamed image, and, with <c>fim-notify on</c>, say that the application started.
///
/// Overview: the refresh itself is synchronous and cheap when nothing changed (a read of the
/// entry and a few stats). Whatever is slow runs beside the program instead of before it: the
/// cache builders are spawned and the notification is sent from the thread pool. <see cref="Dispose"/>,
/// when the run is over, waits a bounded time for those and reaps the builders. Nothing here can
/// fail the run: every failure becomes one line for the log.
/// </summary>
public sealed class DesktopLaunch : IDisposable
{
    private static readonly TimeSpan NotifyTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan BuilderTimeout = TimeSpan.FromSeconds(10);

    private readonly List<ChildProcess> _builders;
    private readonly Task? _notification;
    private readonly DateTime _started = DateTime.UtcNow;

    private DesktopLaunch(List<ChildProcess> builders, Task? notification)
    {
        _builders = builders;
        _notification = notification;
    }

    public static DesktopLaunch Start(string imagePath, Action<string> log)
    {
        try
        {
            var config = ConfigStore.Read(imagePath);
            if (config.Desktop is not { } integration)
                return new DesktopLaunch([], null);
            string? dataHome = DesktopFiles.ResolveDataHome();
            if (dataHome is null)
            {
                log("desktop integration: neither XDG_DATA_HOME nor HOME is an absolute path, nothing refreshed");
                return new DesktopLaunch([], null);
            }
            var files = new DesktopFiles(dataHome, integration.Name);
            var builders = new List<ChildProcess>();
            try
            {
                var changes = DesktopInstaller.Install(integration, files, Path.GetFullPath(imagePath), force: false);
                builders = DesktopDatabases.Start(files, changes);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or DesktopIntegrationException)
            {
                log($"desktop integration not refreshed: {e.Message}");
            }
            Task? notification = null;
            if (config.Notify)
            {
                string? icon = files.NotificationIcon;
                notification = Task.Run(async () =>
                {
                    try
                    {
                        await DesktopNotifier.SendAsync(integration.Name, icon, NotifyTimeout).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // Whatever the bus did (no bus, no server, a refusal, a timeout), the run goes on.
                        log($"start notification not sent: {e.Message}");
                    }
                });
            }
            return new DesktopLaunch(builders, notification);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidImageException)
        {
            log($"desktop integration skipped: {e.Message}");
            return new DesktopLaunch([], null);
        }
    }

    public void Dispose()
    {
        _notification?.Wait(NotifyTimeout + TimeSpan.FromMilliseconds(200));
        DesktopDatabases.Wait(_builders, _started + BuilderTimeout);
    }
}
