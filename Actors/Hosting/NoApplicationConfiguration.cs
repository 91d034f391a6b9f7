using System.Configuration.Internal;
using System.Runtime.CompilerServices;

namespace FlatImage.Actors.Hosting;

/// <summary>
/// An empty System.Configuration for the launcher's process. Akka's <c>ActorSystem.Create</c>
/// asks <c>ConfigurationManager.GetSection("akka")</c> for an app.config section on every start,
/// even when it is handed its configuration (as Akka.Hosting always does). The launcher has no
/// .config file and configures Akka in code (<see cref="LauncherActorSystem"/>), yet the lookup
/// still works out the per-user config directory, which is named after a SHA-1 of the
/// executable's path: that loads OpenSSL (libssl and libcrypto, their initialisation and
/// openssl.cnf) and reads /proc/self/maps, in every run, on the way to the first actor.
/// Installed before the first lookup, this answers every section with null, which is what the
/// lookup finds today anyway (docs/architecture.md, "Start-up").
/// </summary>
internal sealed class NoApplicationConfiguration : IInternalConfigSystem
{
    private static int _installed;

    public object? GetSection(string configKey) => null;

    public void RefreshConfig(string sectionName)
    {
    }

    public bool SupportsUserConfig => false;

    /// <summary>Once per process; harmless when the configuration system is already in use (a test host with several actor systems).</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1)
            return;
        try
        {
            SetConfigurationSystem(null, new NoApplicationConfiguration(), initComplete: true);
        }
        catch (Exception e) when (e is InvalidOperationException or MissingMethodException)
        {
            // Already initialised, or a ConfigurationManager without this internal entry point:
            // the ordinary lookup runs, slower but with the same (empty) result.
        }
    }

    // ConfigurationManager.SetConfigurationSystem is internal (its own hosts use it); a static class
    // cannot be named as a parameter type, hence the type by name.
    [UnsafeAccessor(UnsafeAccessorKind.StaticMethod, Name = "SetConfigurationSystem")]
    private static extern void SetConfigurationSystem(
        [UnsafeAccessorType("System.Configuration.ConfigurationManager, System.Configuration.ConfigurationManager")] object? manager,
        IInternalConfigSystem configSystem, bool initComplete);
}
