using FlatImage.Native.Interop;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Portal;

namespace FlatImage.Portal;

/// <summary>
/// <c>fim_portal &lt;program&gt; [args...]</c> runs a host command from inside the container
/// (docs/cli.md §3.18); started by the launcher with <see cref="PortalDaemon.InitVariable"/> set it is
/// instead the instance's init (<see cref="PortalDaemon"/>), and with the janitor's variable set the
/// run's janitor on the host (<see cref="MountJanitor"/>). Failures of its own are one
/// <c>E::fim_portal::</c> line and status 1.
/// </summary>
public static class Program
{
    private const string Origin = "fim_portal";

    public static int Main(string[] args)
    {
        // An inherited SIG_IGN would make the kernel reap our children and lose their statuses.
        Stdlib.signal(Signal.SIGCHLD, Stdlib.SIG_DFL);
        // A failure nobody caught (on a session's thread, say) is still one line, never a stack trace.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            Error(Unexpected(e.ExceptionObject as Exception));
            Environment.Exit(1);
        };
        try
        {
            return Run(args);
        }
        catch (Exception e)
        {
            return Error(Unexpected(e));
        }
    }

    /// <summary>One readable line for an exception no handler expected; the details only with FIM_DEBUG=1.</summary>
    private static string Unexpected(Exception? e) =>
        Environment.GetEnvironmentVariable("FIM_DEBUG") == "1" ? $"{e}" : e?.Message ?? "unknown failure";

    private static int Run(string[] args)
    {
        // A run's janitor on the host (MountJanitor says why this program rather than the launcher).
        if (MountJanitor.Requested)
            return MountJanitor.RunInOwnSession();
        if (Environment.GetEnvironmentVariable(PortalDaemon.InitVariable) is { Length: > 0 } init)
        {
            // The launcher names the command its lines speak for (fim-exec, fim-root, fim); anything else is ours.
            string origin = init is "fim" or "fim-exec" or "fim-root" ? init : Origin;
            return PortalDaemon.Run(args, message => Error(message, origin));
        }
        // The tools bundle links xdg-open to this program.
        if (Path.GetFileName(Environment.GetCommandLineArgs()[0]) == XdgOpen.Name)
            return XdgOpen.Run(args, message => Error(message, XdgOpen.Name));

        if (args.Length == 0)
            return Error("No arguments for dispatcher");
        string? socket = Environment.GetEnvironmentVariable(PortalDaemon.DispatcherSocketVariable);
        if (string.IsNullOrEmpty(socket))
            return Error($"Could not read variable '{PortalDaemon.DispatcherSocketVariable}'");
        // Without the portal permission the launcher starts no host side (docs/cli.md §16b).
        if (!File.Exists(socket))
            return Error("Running host commands needs the 'portal' permission (fim-perms add portal)");
        PortalCallResult result;
        try
        {
            result = PortalClient.Call(socket, args);
        }
        catch (UnsafePortalSocketException e)
        {
            return Error(e.Message);
        }
        if (result.Error is not null)
            Error(result.Error);
        return result.Status;
    }

    private static int Error(string message, string origin = Origin)
    {
        using var stderr = Console.OpenStandardError();
        stderr.Write(System.Text.Encoding.UTF8.GetBytes($"E::{origin}::{message}\n"));
        return 1;
    }
}
