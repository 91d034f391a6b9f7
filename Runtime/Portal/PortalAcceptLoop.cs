using System.Threading.Channels;

namespace FlatImage.Runtime.Portal;

/// <summary>
/// accept(2) on a portal socket, on a thread of its own (it blocks), handing each connection to
/// whoever runs the sessions through a bounded channel. It is also the one place the portal's
/// limits live, for both ends (the launcher's host actor and the guest's daemon):
/// <list type="bullet">
/// <item>at most <c>maxSessions</c> sessions run at once: the thread takes a session slot before
/// it accepts, and the session gives it back through <see cref="SessionEnded"/>;</item>
/// <item>at most <see cref="MaxPending"/> accepted connections wait for a session to take them.</item>
/// </list>
/// Beyond either, the thread stops accepting and further callers wait in the socket's listen
/// backlog, not in threads or memory of ours: back-pressure reaches the callers.
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
    // Never disposed: a session may end, and give its slot back, after the loop is gone.
    private readonly SemaphoreSlim _sessionSlots;
    private readonly CancellationTokenSource _stopping = new();

    /// <param name="listener">already listening; owned by this loop from here.</param>
    /// <param name="maxSessions">sessions run at once (<see cref="MaxSessions"/> unless a test says otherwise).</param>
    public PortalAcceptLoop(PortalListener listener, int maxSessions = MaxSessions)
    {
        _listener = listener;
        _sessionSlots = new SemaphoreSlim(maxSessions);
        new Thread(Accept) { IsBackground = true, Name = "portal-accept" }.Start();
    }

    /// <summary>
    /// The accepted connections, in order; completes once the listener is closed. Each one read
    /// holds a session slot until its session calls <see cref="SessionEnded"/>.
    /// </summary>
    public ChannelReader<PortalConnection> Connections => _accepted.Reader;

    /// <summary>A session that took a connection from <see cref="Connections"/> has ended: its slot is free.</summary>
    public void SessionEnded() => _sessionSlots.Release();

    private void Accept()
    {
        var token = _stopping.Token;
        try
        {
            while (true)
            {
                // Blocks this thread (never a session's) while every slot is taken.
                _sessionSlots.Wait(token);
                if (_listener.Accept() is not { } connection)
                    return;
                // And while MaxPending connections wait for a session.
                if (!_accepted.Writer.WaitToWriteAsync(token).AsTask().GetAwaiter().GetResult() || !_accepted.Writer.TryWrite(connection))
                {
                    connection.Dispose();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed while waiting for a slot or for room in the channel.
        }
        finally
        {
            _accepted.Writer.TryComplete();
        }
    }

    /// <summary>Closes the socket (the thread ends) and the connections nobody took yet.</summary>
    public void Dispose()
    {
        _stopping.Cancel();
        _listener.Dispose();
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out var waiting))
            waiting.Dispose();
    }
}
