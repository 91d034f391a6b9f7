using System.Runtime.InteropServices;
using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Native.Spawn;

namespace FlatImage.Runtime.Portal;

/// <summary>How one portal connection ended, for the server's log.</summary>
public enum PortalSessionOutcome
{
    /// <summary>The process ran and its status was sent.</summary>
    Completed,
    /// <summary>The program could not be found or started; the caller was told.</summary>
    NotStarted,
    /// <summary>The peer is not the instance's owner: closed before reading a byte.</summary>
    Refused,
    /// <summary>The peer broke the protocol or left before sending a request: that connection was closed.</summary>
    Dropped,
}

/// <summary>
/// The server side of one portal connection (<see cref="PortalProtocol"/>): checks the peer, reads
/// and validates the request, spawns the program on the caller's own fds, delivers the caller's
/// signals, and reports the exit status. Blocking, on one dedicated thread: the host launcher
/// runs it under a PortalSessionActor, the guest's <c>fim_portal</c> daemon on a thread of its own.
/// <see cref="Dispose"/> from another thread ends it: the process is killed and the connection closed.
/// </summary>
public sealed class PortalSession : IDisposable
{
    private readonly PortalConnection _connection;
    private readonly uint _ownerUid;
    private readonly string _searchPath;
    private readonly IReadOnlyDictionary<string, string>? _serviceVariables;
    private readonly object _gate = new();
    private ChildProcess? _child; // protected by _gate
    private bool _disposed; // protected by _gate

    /// <param name="ownerUid">the only uid (as SO_PEERCRED reports it in our user namespace) allowed to run anything.</param>
    /// <param name="searchPath">the server side's PATH, where program names are looked up (docs/cli.md §14).</param>
    /// <param name="serviceVariables">
    /// when set, the host-service variables (<see cref="Sandbox.HostServices"/>) a request carries are
    /// dropped and these take their place: inside an instance, a command gets the services the
    /// instance was granted, never those of whoever asked.
    /// </param>
    public PortalSession(PortalConnection connection, uint ownerUid, string searchPath, IReadOnlyDictionary<string, string>? serviceVariables = null)
    {
        _connection = connection;
        _ownerUid = ownerUid;
        _searchPath = searchPath;
        _serviceVariables = serviceVariables;
    }

    /// <summary>What the session ran, for the log (empty until the request is read).</summary>
    public string Description { get; private set; } = "";

    public PortalSessionOutcome Run()
    {
        try
        {
            return Serve();
        }
        catch (PortalProtocolException e)
        {
            Description = $"dropped: {e.Message}";
            return PortalSessionOutcome.Dropped;
        }
        catch (ErrnoException e) when (e.Errno is 32 /* EPIPE */ or 104 /* ECONNRESET */ or Errno.EBADF)
        {
            Description = $"dropped: {e.Message}";
            return PortalSessionOutcome.Dropped;
        }
        finally
        {
            _connection.Shutdown();
            _connection.Dispose();
        }
    }

    private PortalSessionOutcome Serve()
    {
        // Checked before the first byte is read: another user's bytes are never parsed.
        uint peer = _connection.PeerUid;
        if (peer != _ownerUid)
        {
            Description = $"refused a connection from uid {peer}";
            return PortalSessionOutcome.Refused;
        }
        using var frame = _connection.Receive(PortalProtocol.RendezvousTimeoutMs);
        if (frame is null)
        {
            Description = "the caller left before sending a request";
            return PortalSessionOutcome.Dropped;
        }
        if (frame.Type != PortalFrameType.Request)
            throw new PortalProtocolException($"expected a request, got {frame.Type}");
        var request = PortalRequest.Decode(frame.Payload);
        if (frame.Fds.Count != request.FdCount)
            throw new PortalProtocolException($"the request announced {request.FdCount} fds and carried {frame.Fds.Count}");
        Description = string.Join(' ', request.Arguments);

        string? program = FindProgram(request.Arguments[0], _searchPath, request.WorkingDirectory);
        ChildProcess? child = null;
        if (program is not null)
        {
            var inherit = new List<(SafeHandle, int)>();
            var close = new List<int>();
            var owned = new List<SafeFd>();
            int next = 0;
            for (int std = 0; std < 3; std++)
            {
                if ((request.StdioMask & (1 << std)) == 0)
                {
                    close.Add(std);
                    continue;
                }
                var fd = frame.Fds[next++];
                // dup2 onto the same number would keep O_CLOEXEC: a received fd that landed on 0-2
                // (a server whose own stdio is closed) is moved up first.
                if (fd.Fd <= 2)
                {
                    fd = Duplicate(fd);
                    owned.Add(fd);
                }
                inherit.Add((fd, std));
            }
            if (_serviceVariables is not null)
                request = request with { Environment = WithServiceVariables(request.Environment, _serviceVariables) };
            string? cwd = request.WorkingDirectory.Length > 0 && Directory.Exists(request.WorkingDirectory) ? request.WorkingDirectory : null;
            try
            {
                child = ChildProcess.Start(program, request.Arguments, request.Environment, inherit, cwd, close);
            }
            catch (ErrnoException) when (cwd is not null)
            {
                // The caller's directory exists here but is not ours to enter (EACCES in the child):
                // run where the server runs rather than not at all.
                child = TryStart(program, request, inherit, close);
            }
            catch (ErrnoException)
            {
                child = null;
            }
            finally
            {
                owned.ForEach(f => f.Dispose());
            }
        }
        // The process has its own copies now: ours would keep a caller's pipe open after it exits.
        frame.Dispose();
        if (child is null)
        {
            _connection.SendFailed(1, PortalProtocol.NotFoundMessage);
            return PortalSessionOutcome.NotStarted;
        }
        lock (_gate)
        {
            _child = child;
            if (_disposed)
                child.Kill(Signal.SIGKILL);
        }
        try
        {
            try
            {
                _connection.SendStarted(child.Pid);
            }
            catch (ErrnoException)
            {
                child.Kill(Signal.SIGKILL);
            }
            int status = ExitStatus.ToShellStatus(RelaySignalsUntilExit(child));
            try
            {
                _connection.SendExited(status);
            }
            catch (ErrnoException)
            {
                // The caller is gone; nobody to tell.
            }
            Description += $" -> {status}";
            return PortalSessionOutcome.Completed;
        }
        finally
        {
            lock (_gate)
            {
                _child = null;
                child.Dispose();
            }
        }
    }

    private static ChildProcess? TryStart(string program, PortalRequest request, List<(SafeHandle, int)> inherit, List<int> close)
    {
        try
        {
            return ChildProcess.Start(program, request.Arguments, request.Environment, inherit, null, close);
        }
        catch (ErrnoException)
        {
            return null;
        }
    }

    /// <summary>
    /// The caller's side of the conversation while the process runs, on this one thread: the
    /// process's exit and the caller's frames are waited for together (pidfd and socket in one
    /// poll). Signal frames are delivered; end of stream or garbage means the caller is gone, and
    /// so is its process (SIGKILL), whose exit is then all that is waited for.
    /// </summary>
    /// <returns>the process's raw wait status.</returns>
    private int RelaySignalsUntilExit(ChildProcess child)
    {
        while (true)
        {
            if (_connection.WaitForExitOrFrame(child) is { } status)
                return status;
            bool deliverable;
            try
            {
                // A frame that has begun arrives whole within the rendezvous time, or the caller is broken.
                using var frame = _connection.Receive(PortalProtocol.RendezvousTimeoutMs);
                deliverable = frame is not null && frame.Type == PortalFrameType.Signal && PortalProtocol.IsDeliverable(frame.Number);
                if (deliverable)
                    child.Kill(frame!.Number);
            }
            catch (Exception e) when (e is PortalProtocolException or ErrnoException or ObjectDisposedException)
            {
                deliverable = false;
            }
            if (!deliverable)
            {
                child.Kill(Signal.SIGKILL);
                return child.WaitForExit(Timeout.InfiniteTimeSpan)!.Value;
            }
        }
    }

    /// <summary>A name with a slash is a path (relative to the caller's directory); otherwise the first executable file on <paramref name="searchPath"/>.</summary>
    public static string? FindProgram(string name, string searchPath, string workingDirectory)
    {
        if (!name.Contains('/'))
            return Native.Io.ExecutableSearch.OnPath(name, searchPath);
        string path = Path.IsPathRooted(name) || workingDirectory.Length == 0 ? name : Path.Combine(workingDirectory, name);
        return Native.Io.ExecutableSearch.IsExecutable(path) ? path : null;
    }

    private static List<string> WithServiceVariables(IReadOnlyList<string> requested, IReadOnlyDictionary<string, string> own)
    {
        var env = new List<string>(requested.Count + own.Count);
        foreach (string entry in requested)
            if (Sandbox.HostServices.MayPass(entry[..entry.IndexOf('=')], Config.Permissions.None))
                env.Add(entry);
        foreach (var (name, value) in own)
            env.Add($"{name}={value}");
        return env;
    }

    private static SafeFd Duplicate(SafeFd fd)
    {
        const int F_DUPFD_CLOEXEC = 1030;
        int copy = Fcntl.fcntl(fd.Fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
            throw ErrnoException.FromLastError("fcntl F_DUPFD_CLOEXEC");
        return new SafeFd(copy);
    }

    /// <summary>Ends the session from outside: the process is killed and the caller's connection shut down, so <see cref="Run"/> returns.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _child?.Kill(Signal.SIGKILL);
        }
        _connection.Shutdown();
    }
}
