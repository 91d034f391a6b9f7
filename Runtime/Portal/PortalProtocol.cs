namespace FlatImage.Runtime.Portal;

/// <summary>
/// The portal's wire protocol (docs/cli.md §14), the same in both directions (guest → host through
/// <c>fim_portal</c>, host → guest through <c>fim-instance exec</c>).
///
/// Overview: a client connects to a unix stream socket and sends one <see cref="PortalFrameType.Request"/>
/// frame (argv, environment, working directory) whose first byte carries, as SCM_RIGHTS, the
/// caller's own stdin, stdout and stderr — those of them that are open. The server spawns the
/// program on those fds, so it reads and writes them directly: no copying, and a terminal stays
/// a terminal. The server answers <see cref="PortalFrameType.Started"/> or <see cref="PortalFrameType.Failed"/>,
/// and later <see cref="PortalFrameType.Exited"/> with the shell-style status. Meanwhile the client
/// may send <see cref="PortalFrameType.Signal"/> frames for signals it receives. End of stream from
/// the client means the caller is gone: the server kills the process.
///
/// Frame: u32 little-endian length of what follows, then a u8 type and the payload. Everything a
/// peer sends is untrusted: sizes are bounded, strings must be NUL-free, and any fd that arrives
/// where none is expected is a protocol error that closes that one connection.
/// </summary>
public static class PortalProtocol
{
    /// <summary>The largest frame accepted: argv plus environment of any sane command fit with room to spare.</summary>
    public const int MaxFrame = 4 << 20;
    public const int MaxArguments = 65_536;
    public const int MaxEnvironment = 65_536;

    /// <summary>FlatImage times every rendezvous out after 5 seconds (docs/cli.md §14): a client that connects and says nothing is dropped.</summary>
    public const int RendezvousTimeoutMs = 5_000;

    /// <summary>The message for a program that cannot be found or started (docs/cli.md §3.18), with status 1.</summary>
    public const string NotFoundMessage = "Could not start PID, program not found?";

    /// <summary>Signals a caller forwards to the process (docs/cli.md §3.18), by Linux number; SIGPIPE stays with the runtime.</summary>
    public static readonly IReadOnlyList<int> ForwardedSignals =
    [
        2 /* INT */, 15 /* TERM */, 1 /* HUP */, 3 /* QUIT */, 6 /* ABRT */, 18 /* CONT */,
        29 /* IO */, 23 /* URG */, 10 /* USR1 */, 12 /* USR2 */, 26 /* VTALRM */,
    ];

    /// <summary>Signals the server delivers when asked: the forwarded set plus SIGPIPE.</summary>
    public static bool IsDeliverable(int signal) => ForwardedSignals.Contains(signal) || signal == 13;
}

/// <summary>The frame types; a peer sending any other value is a protocol error.</summary>
public enum PortalFrameType : byte
{
    Request = 1,
    Started = 2,
    Failed = 3,
    Exited = 4,
    Signal = 5,
}
