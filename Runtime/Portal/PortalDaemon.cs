using System.Collections;
using System.Runtime.InteropServices;
using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Spawn;

namespace FlatImage.Runtime.Portal;

/// <summary>
/// <c>fim_portal</c> as the instance's init inside the sandbox (docs/cli.md §3.2 step 7, §14): it
/// starts the user's program and, beside it, serves the instance's guest socket so that
/// <c>fim-instance exec</c> runs commands as children of this process — with the instance's
/// uid, namespaces and filesystem view. Its exit status is the program's; when the program ends
/// the instance ends, whatever sessions are still open.
///
/// bubblewrap's own init stays pid 1 (it reaps orphans); this process is its only child and
/// reaps only its own children, each by pid (docs/contributing.md, "SIGCHLD and children the runtime did not start").
/// </summary>
public static class PortalDaemon
{
    /// <summary>Set by the launcher on the sandbox's command: run as the daemon. Never passed on to the program.</summary>
    public const string InitVariable = "FIM_PORTAL_INIT";

    /// <summary>The guest socket this daemon serves (docs/cli.md §6: portal plumbing).</summary>
    public const string DaemonSocketVariable = "FIM_DAEMON_CFG";

    /// <summary>The host socket <c>fim_portal</c> calls (present only with the <c>portal</c> permission).</summary>
    public const string DispatcherSocketVariable = "FIM_DISPATCHER_CFG";

    /// <summary>Signals the daemon passes on to the program. SIGINT and SIGQUIT are not among them: a terminal sends those to the whole process group, the program included.</summary>
    private static readonly int[] Relayed = [15 /* TERM */, 1 /* HUP */, 10 /* USR1 */, 12 /* USR2 */, 18 /* CONT */, 29 /* IO */, 23 /* URG */, 26 /* VTALRM */];

    /// <param name="error">writes one diagnostic line.</param>
    /// <returns>the program's status as a shell reports it; 127 or 126 when it cannot be run.</returns>
    public static int Run(IReadOnlyList<string> command, Action<string> error)
    {
        if (command.Count == 0 || command[0].Length == 0)
        {
            error("No program to run");
            return 125;
        }
        string path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        string cwd = Environment.CurrentDirectory;
        string? program = PortalSession.FindProgram(command[0], path, cwd);
        if (program is null)
        {
            bool exists = command[0].Contains('/') ? File.Exists(command[0]) || Directory.Exists(command[0]) : false;
            error(exists ? $"Permission denied: '{command[0]}'" : $"Command not found: '{command[0]}'");
            return exists ? 126 : 127;
        }

        var env = new List<string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            if ((string)e.Key != InitVariable)
                env.Add($"{e.Key}={e.Value}");

        PortalListener? listener = null;
        if (Environment.GetEnvironmentVariable(DaemonSocketVariable) is { Length: > 0 } socketPath)
        {
            try
            {
                listener = PortalListener.Create(socketPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The program still runs; only fim-instance exec into this instance is unavailable.
                if (Environment.GetEnvironmentVariable("FIM_DEBUG") == "1")
                    error($"cannot serve {socketPath}: {e.Message}");
            }
        }

        ChildProcess child;
        try
        {
            child = ChildProcess.Start(program, command, env);
        }
        catch (ErrnoException e)
        {
            listener?.Dispose();
            error($"Permission denied: '{command[0]}' ({e.Message})");
            return 126;
        }
        var registrations = Relayed.Select(signal => PosixSignalRegistration.Create((PosixSignal)signal, ctx =>
        {
            ctx.Cancel = true;
            child.Kill(signal);
        })).ToList();
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => ctx.Cancel = true));
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGQUIT, ctx => ctx.Cancel = true));

        var accepting = listener is null ? null : new PortalAcceptLoop(listener);
        if (accepting is not null)
            new Thread(() => Serve(accepting, path)) { IsBackground = true, Name = "portal-sessions" }.Start();
        int status = ExitStatus.ToShellStatus(child.WaitForExit(Timeout.InfiniteTimeSpan)!.Value);
        registrations.ForEach(r => r.Dispose());
        accepting?.Dispose();
        return status;
    }

    /// <summary>
    /// A thread per session (it blocks on its process; the peer check runs before anything is
    /// read); the accept loop keeps their number within its session limit.
    /// </summary>
    private static void Serve(PortalAcceptLoop accepting, string path)
    {
        uint self = Unistd.getuid();
        // The host-service variables this instance was granted (its own environment holds exactly those).
        var services = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            if (!Sandbox.HostServices.MayPass((string)e.Key, Config.Permissions.None))
                services[(string)e.Key] = (string?)e.Value ?? "";
        var connections = accepting.Connections;
        while (connections.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (connections.TryRead(out var connection))
            {
                var session = new PortalSession(connection, self, path, services);
                new Thread(() =>
                {
                    try
                    {
                        session.Run();
                    }
                    finally
                    {
                        accepting.SessionEnded();
                    }
                })
                { IsBackground = true, Name = "portal-session" }.Start();
            }
        }
    }
}
