using System.Threading.Channels;

namespace FlatImage.Runtime.Portal;

/// <summary>
/// accept(2) on a portal socket, on a thread of its own (it blocks), handing each connection to
/// whoever runs the sessions through a bounded channel. When the sessions fall behind
/// (<see cref="MaxPending"/> connections waiting) the thread stops accepting, and further callers
/// wait in the socket's listen backlog, not in threads or memory of ours: back-pressure reaches
/// the callers. Both ends of the portal use it: the launcher's host actor and the guest's daemon.
/// </summary>
public sealed class PortalAcceptLoop : IDisposable
{
    /// <summary>Accepted connections waiting for a session to take them.</summary>
    public const int MaxPending = 16;

    /// <summary>Sessions one instance runs at once; a session holds a thread while its command runs.</summary>
    public const int MaxSessions = 128;

    private readonly PortalListener _listener;
    private readonly Channel<PortalConnection> _accepted = Channel.CreateBounded<PortalConnection>(
        new BoundedChannelOptions(MaxPending) { SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    /// <param name="listener">already listening; owned by this loop from here.</param>
    public PortalAcceptLoop(PortalListener listener)
    {
        _listener = listener;
        new Thread(Accept) { IsBackground = true, Name = "portal-accept" }.Start();
    }

    /// <summary>The accepted connections, in order; completes once the listener is closed.</summary>
    public ChannelReader<PortalConnection> Connections => _accepted.Reader;

    private void Accept()
    {
        try
        {
            while (_listener.Accept() is { } connection)
            {
                // Blocks this thread (never a session's) while MaxPending connections wait.
                if (!_accepted.Writer.WaitToWriteAsync().AsTask().GetAwaiter().GetResult() || !_accepted.Writer.TryWrite(connection))
                {
                    connection.Dispose();
                    return;
                }
            }
        }
        finally
        {
            _accepted.Writer.TryComplete();
        }
    }

    /// <summary>Closes the socket (the thread ends) and the connections nobody took yet.</summary>
    public void Dispose()
    {
        _listener.Dispose();
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var waiting))
            waiting.Dispose();
    }
}
