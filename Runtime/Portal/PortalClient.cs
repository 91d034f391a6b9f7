using System.Collections;
using System.Runtime.InteropServices;
using FlatImage.Native;
using FlatImage.Native.Interop;

namespace FlatImage.Runtime.Portal;

/// <summary>The outcome of a portal call: the process's status, or the caller's own failure (status 1) with its message.</summary>
public sealed record PortalCallResult(int Status, string? Error);

/// <summary>
/// The calling side of the portal (<c>fim_portal</c> in a guest, <c>fim-instance exec</c> on the
/// host): sends argv, the whole environment and the working directory with this process's own
/// stdin/stdout/stderr, forwards the signals of docs/cli.md §3.18 while the process runs, and returns
/// its exit status.
/// </summary>
public static class PortalClient
{
    private const int EPIPE = 32;
    private const int ECONNRESET = 104;
    private const string Refused = "The portal closed the connection without running the command (it serves only the instance's owner)";

    /// <param name="passVariable">which of this process's environment variables the request carries (all when null).</param>
    /// <exception cref="UnsafePortalSocketException">the socket is not one the caller may trust (<see cref="PortalSocket"/>): nothing was sent.</exception>
    public static PortalCallResult Call(string socketPath, IReadOnlyList<string> arguments, Func<string, bool>? passVariable = null)
    {
        PortalConnection connection;
        try
        {
            connection = PortalConnection.Connect(socketPath);
        }
        catch (ErrnoException e)
        {
            return new PortalCallResult(1, $"Cannot reach the portal at '{socketPath}': {ErrnoException.StrError(e.Errno)}");
        }
        using (connection)
        {
            var registrations = new List<PosixSignalRegistration>();
            // A signal that arrives before the request is sent waits for it: the request must be the first frame.
            var gate = new object();
            var early = new List<int>();
            bool requested = false;
            void Forward(int signal)
            {
                lock (gate)
                {
                    if (!requested)
                    {
                        early.Add(signal);
                        return;
                    }
                }
                try
                {
                    connection.SendSignal(signal);
                }
                catch (Exception e) when (e is ErrnoException or ObjectDisposedException)
                {
                }
            }
            try
            {
                foreach (int signal in PortalProtocol.ForwardedSignals)
                {
                    // The default action (often: die) is cancelled; the process decides what the signal means.
                    registrations.Add(PosixSignalRegistration.Create((PosixSignal)signal, ctx =>
                    {
                        ctx.Cancel = true;
                        Forward(signal);
                    }));
                }
                var (mask, fds) = OpenStdio();
                try
                {
                    connection.SendRequest(new PortalRequest(arguments, EnvironmentList(passVariable), WorkingDirectory(), mask), fds);
                }
                catch (ErrnoException e) when (e.Errno is EPIPE or ECONNRESET)
                {
                    return new PortalCallResult(1, Refused);
                }
                int[] pending;
                lock (gate)
                {
                    requested = true;
                    pending = early.ToArray();
                }
                foreach (int signal in pending)
                    Forward(signal);
                bool started = false;
                while (true)
                {
                    using var frame = connection.Receive();
                    switch (frame?.Type)
                    {
                        case null:
                            return new PortalCallResult(1, started ? "The portal went away before the command finished" : Refused);
                        case PortalFrameType.Started:
                            started = true;
                            continue;
                        case PortalFrameType.Failed:
                            return new PortalCallResult(frame.Number, frame.Text);
                        case PortalFrameType.Exited:
                            return new PortalCallResult(frame.Number, null);
                        default:
                            return new PortalCallResult(1, $"The portal sent an unexpected {frame.Type} frame");
                    }
                }
            }
            catch (PortalProtocolException e)
            {
                return new PortalCallResult(1, $"Portal protocol error: {e.Message}");
            }
            catch (ErrnoException e)
            {
                return new PortalCallResult(1, $"The portal connection failed: {e.Message}");
            }
            finally
            {
                registrations.ForEach(r => r.Dispose());
            }
        }
    }

    /// <summary>
    /// Which of fds 0-2 the caller gave us: a closed one is announced as closed, not replaced. An
    /// fd inherited across exec cannot have FD_CLOEXEC, while everything the runtime opens does —
    /// and with stdin closed, the runtime's first file (/dev/urandom) lands on fd 0.
    /// </summary>
    private static (byte Mask, int[] Fds) OpenStdio()
    {
        byte mask = 0;
        var fds = new List<int>(3);
        for (int fd = 0; fd < 3; fd++)
        {
            int flags = Fcntl.fcntl(fd, Fcntl.F_GETFD, 0);
            if (flags >= 0 && (flags & Fcntl.FD_CLOEXEC) == 0)
            {
                mask |= (byte)(1 << fd);
                fds.Add(fd);
            }
        }
        return (mask, fds.ToArray());
    }

    private static List<string> EnvironmentList(Func<string, bool>? passVariable)
    {
        var list = new List<string>();
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            string key = (string)e.Key;
            if (key.Length > 0 && !key.Contains('=') && (passVariable is null || passVariable(key)))
                list.Add(key + "=" + (string?)e.Value);
        }
        return list;
    }

    private static string WorkingDirectory()
    {
        try
        {
            return Environment.CurrentDirectory;
        }
        catch (IOException)
        {
            return "";
        }
    }
}
