using FlatImage.Runtime.Portal;

namespace FlatImage.Portal;

/// <summary>
/// <c>xdg-open &lt;file|URL&gt;</c> inside the guest: the tools bundle links <c>xdg-open</c> to
/// fim_portal, so a guest program that opens a link or a document reaches the host's
/// <c>xdg-open</c> (and so the user's browser and viewers) through the portal. It needs the
/// <c>portal</c> permission like any host command; without it, one line says so.
/// </summary>
public static class XdgOpen
{
    public const string Name = "xdg-open";

    public static int Run(string[] args, Func<string, int> error)
    {
        if (args.Length != 1)
            return error("Usage: xdg-open { file | URL }");
        string? socket = Environment.GetEnvironmentVariable(PortalDaemon.DispatcherSocketVariable);
        if (string.IsNullOrEmpty(socket))
            return error($"Could not read variable '{PortalDaemon.DispatcherSocketVariable}'");
        if (!File.Exists(socket))
            return error("Opening files and URLs on the host needs the 'portal' permission (fim-perms add portal)");

        // The host's xdg-open runs with this environment. The bundled tools directories come first
        // on the guest's PATH and exist on the host at the same paths: left in, the host's xdg-open
        // would find this very link again (and ask the portal again) instead of its own helpers.
        string[] bundled =
        [
            Environment.GetEnvironmentVariable("FIM_DIR_APP_BIN") ?? "",
            Environment.GetEnvironmentVariable("FIM_DIR_APP_SBIN") ?? "",
        ];
        string path = Environment.GetEnvironmentVariable("PATH") ?? "";
        Environment.SetEnvironmentVariable("PATH", string.Join(':',
            path.Split(':').Where(dir => dir.Length > 0 && !bundled.Contains(dir))));

        var result = PortalClient.Call(socket, [Name, Target(args[0])]);
        if (result.Error is not null)
            error(result.Error);
        return result.Status;
    }

    /// <summary>A relative file name becomes absolute (the host may run elsewhere); a URL or an absolute path passes as given.</summary>
    private static string Target(string argument)
    {
        bool hasScheme = argument.IndexOf(':') is > 0 and var colon
            && argument[..colon].All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.');
        return hasScheme || Path.IsPathRooted(argument) ? argument : Path.GetFullPath(argument);
    }
}
