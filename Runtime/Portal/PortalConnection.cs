using System.Buffers.Binary;
using System.Text;
using FlatImage.Native;
using FlatImage.Native.Io;
using FlatImage.Native.Spawn;

namespace FlatImage.Runtime.Portal;

/// <summary>One frame as received; it owns the fds that came with it.</summary>
public sealed record PortalFrame(PortalFrameType Type, byte[] Payload, IReadOnlyList<SafeFd> Fds) : IDisposable
{
    /// <summary>The i32 of a Started, Exited or Signal frame.</summary>
    public int Number => Payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(Payload) : throw new PortalProtocolException($"short {Type} frame");

    /// <summary>The message of a Failed frame (after its status).</summary>
    public string Text => Payload.Length >= 4 ? Encoding.UTF8.GetString(Payload.AsSpan(4)) : throw new PortalProtocolException($"short {Type} frame");

    public void Dispose()
    {
        foreach (var fd in Fds)
            fd.Dispose();
    }
}

/// <summary>
/// One portal connection: frames (<see cref="PortalProtocol"/>) over a unix stream socket. Sends
/// are serialized by a lock, because a client's signal handler and its main thread may both
/// write; receiving belongs to one thread at a time.
/// </summary>
public sealed class PortalConnection : IDisposable
{
    private readonly SafeFd _socket;
    private readonly object _sendGate = new();

    public PortalConnection(SafeFd socket) => _socket = socket;

    /// <summary>Connects without following a symlink and only to a socket of the caller's (<see cref="PortalSocket"/>).</summary>
    public static PortalConnection Connect(string path) => new(PortalSocket.Connect(path));

    /// <summary>For tests that send what no well-behaved peer would.</summary>
    internal SafeFd Socket => _socket;

    /// <summary>The peer's uid in our user namespace (SO_PEERCRED): checked before the first byte is read.</summary>
    public uint PeerUid => UnixSocket.PeerUid(_socket);

    public void SendRequest(PortalRequest request, ReadOnlySpan<int> fds) => Send(PortalFrameType.Request, request.Encode(), fds);

    public void SendStarted(int pid) => SendNumber(PortalFrameType.Started, pid);

    public void SendExited(int status) => SendNumber(PortalFrameType.Exited, status);

    public void SendSignal(int signal) => SendNumber(PortalFrameType.Signal, signal);

    public void SendFailed(int status, string message)
    {
        byte[] text = Encoding.UTF8.GetBytes(message);
        byte[] payload = new byte[4 + text.Length];
        BinaryPrimitives.WriteInt32LittleEndian(payload, status);
        text.CopyTo(payload, 4);
        Send(PortalFrameType.Failed, payload);
    }

    private void SendNumber(PortalFrameType type, int value)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(payload, value);
        Send(type, payload);
    }

    private void Send(PortalFrameType type, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default)
    {
        byte[] frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)(1 + payload.Length));
        frame[4] = (byte)type;
        payload.CopyTo(frame.AsSpan(5));
        lock (_sendGate)
            UnixSocket.Send(_socket, frame, fds);
    }

    /// <summary>
    /// The next frame, or null when the peer closed the stream cleanly between frames. A frame
    /// that is cut short, too big, of an unknown type, carries fds it should not, or does not
    /// arrive within <paramref name="timeoutMs"/> (negative: no limit) is a <see cref="PortalProtocolException"/>.
    /// </summary>
    public PortalFrame? Receive(int timeoutMs = -1)
    {
        var fds = new List<SafeFd>();
        try
        {
            long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
            byte[] header = new byte[5];
            if (!Fill(header, fds, deadline, allowCleanEnd: true))
                return null;
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            if (length < 1 || length > PortalProtocol.MaxFrame)
                throw new PortalProtocolException($"bad frame length {length}");
            var type = (PortalFrameType)header[4];
            if (!Enum.IsDefined(type))
                throw new PortalProtocolException($"unknown frame type {header[4]}");
            byte[] payload = new byte[length - 1];
            Fill(payload, fds, deadline, allowCleanEnd: false);
            if (type != PortalFrameType.Request && fds.Count > 0)
                throw new PortalProtocolException($"a {type} frame carried file descriptors");
            var frame = new PortalFrame(type, payload, fds.ToArray());
            fds.Clear();
            return frame;
        }
        finally
        {
            foreach (var fd in fds)
                fd.Dispose();
        }
    }

    private bool Fill(byte[] buffer, List<SafeFd> fds, long deadline, bool allowCleanEnd)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            if (deadline != long.MaxValue && !UnixSocket.WaitReadable(_socket, (int)Math.Max(0, deadline - Environment.TickCount64)))
                throw new PortalProtocolException("timed out waiting for the peer");
            int n;
            try
            {
                n = UnixSocket.Receive(_socket, buffer.AsSpan(got), fds);
            }
            catch (ErrnoException e) when (e.Errno == 104 /* ECONNRESET */)
            {
                n = 0;
            }
            if (fds.Count > UnixSocket.MaxFds)
                throw new PortalProtocolException("too many file descriptors");
            if (n == 0)
            {
                if (got == 0 && allowCleanEnd)
                    return false;
                throw new PortalProtocolException("the peer closed the connection in the middle of a frame");
            }
            got += n;
        }
        return true;
    }

    /// <summary>
    /// Waits until <paramref name="child"/> exits (its raw wait status) or the peer sends something
    /// or hangs up (null: <see cref="Receive"/> tells which).
    /// </summary>
    public int? WaitForExitOrFrame(ChildProcess child) => child.WaitForExitOrReadable(_socket);

    /// <summary>Ends both directions; a thread blocked in <see cref="Receive"/> wakes up with end of stream.</summary>
    public void Shutdown() => UnixSocket.Shutdown(_socket);

    public void Dispose() => _socket.Dispose();
}
