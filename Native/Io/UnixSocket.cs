using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Io;

/// <summary>
/// Filesystem unix stream sockets (unix(7)) over raw syscalls: listen, accept, connect, peer
/// credentials, and messages that carry file descriptors (SCM_RIGHTS). Every socket and every
/// received fd is O_CLOEXEC, so nothing leaks into a spawned child unless it is passed on purpose.
/// No policy here: the portal protocol (Runtime/Portal) decides what is acceptable.
/// </summary>
public static unsafe class UnixSocket
{
    /// <summary>The most fds one message may carry; more is truncated by the kernel and refused by us.</summary>
    public const int MaxFds = 8;

    /// <summary>Creates a listening socket at <paramref name="path"/> (which must not exist).</summary>
    public static SafeFd Listen(string path, int backlog = 256)
    {
        var fd = Create();
        using var directory = ShortAddress(path, out var addr, out uint len);
        using (Borrow(fd, out int raw))
        {
            if (Socket.bind(raw, &addr, len) != 0)
            {
                var e = ErrnoException.FromLastError("bind", path);
                fd.Dispose();
                throw e;
            }
            if (Socket.listen(raw, backlog) != 0)
            {
                var e = ErrnoException.FromLastError("listen", path);
                fd.Dispose();
                throw e;
            }
        }
        return fd;
    }

    /// <summary>
    /// Waits for the next connection. Returns null once <see cref="Shutdown"/> was called on the
    /// listener (accept then fails with EINVAL) or it was closed, which is how another thread stops an accept loop.
    /// </summary>
    public static SafeFd? Accept(SafeFd listener)
    {
        FdLease lease;
        int raw;
        try
        {
            lease = Borrow(listener, out raw);
        }
        catch (ObjectDisposedException)
        {
            // Closed by its owner between two accepts: the same as shut down.
            return null;
        }
        using (lease)
        {
            while (true)
            {
                int fd = Socket.accept4(raw, null, null, Socket.SOCK_CLOEXEC);
                if (fd >= 0)
                    return new SafeFd(fd);
                int errno = Marshal.GetLastPInvokeError();
                // A connection that was reset while queued, or a signal: try the next one.
                if (errno is Errno.EINTR or ECONNABORTED or Errno.EAGAIN)
                    continue;
                if (errno is Errno.EINVAL or Errno.EBADF)
                    return null;
                throw new ErrnoException(errno, "accept");
            }
        }
    }

    private const int ECONNABORTED = 103;
    public const int ECONNREFUSED = 111;

    /// <summary>Connects to the socket at <paramref name="path"/> (following symlinks, as connect(2) does).</summary>
    public static SafeFd Connect(string path)
    {
        using var directory = ShortAddress(path, out var addr, out uint len);
        return Connect(addr, len, path);
    }

    /// <summary>
    /// Connects to the socket that <paramref name="socketPath"/> (an O_PATH fd, see
    /// <see cref="PathHandle.Open"/>) refers to, through its /proc/self/fd link: the kernel resolves
    /// that link to the very inode the fd holds, so no name is looked up again and nothing that
    /// replaced the name since (a symlink planted in between) can redirect the connection.
    /// </summary>
    public static SafeFd Connect(SafeFd socketPath, string pathForMessages)
    {
        using (Borrow(socketPath, out int raw))
        {
            var addr = Address($"/proc/self/fd/{raw}", out uint len);
            return Connect(addr, len, pathForMessages);
        }
    }

    private static SafeFd Connect(Socket.sockaddr_un addr, uint len, string path)
    {
        var fd = Create();
        using (Borrow(fd, out int raw))
        {
            while (Socket.connect(raw, &addr, len) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                    continue;
                fd.Dispose();
                throw new ErrnoException(errno, "connect", path);
            }
        }
        return fd;
    }

    /// <summary>
    /// The peer's uid as the kernel recorded it at connect time (SO_PEERCRED, socket(7)), translated
    /// into our user namespace: a peer whose uid has no mapping here shows as the overflow uid.
    /// </summary>
    public static uint PeerUid(SafeFd socket)
    {
        Socket.ucred cred;
        uint len = (uint)sizeof(Socket.ucred);
        using (Borrow(socket, out int raw))
        {
            if (Socket.getsockopt(raw, Socket.SOL_SOCKET, Socket.SO_PEERCRED, &cred, &len) != 0)
                throw ErrnoException.FromLastError("getsockopt SO_PEERCRED");
        }
        return cred.uid;
    }

    /// <summary>
    /// Sends all of <paramref name="data"/>; <paramref name="fds"/> ride on the first byte. MSG_NOSIGNAL:
    /// a vanished peer is an EPIPE error here, not a SIGPIPE for the whole process.
    /// </summary>
    public static void Send(SafeFd socket, ReadOnlySpan<byte> data, ReadOnlySpan<int> fds = default)
    {
        if (fds.Length > MaxFds)
            throw new ArgumentException("too many fds for one message", nameof(fds));
        byte* control = stackalloc byte[Socket.CMSG_SPACE(MaxFds * sizeof(int))];
        using (Borrow(socket, out int raw))
        {
            fixed (byte* start = data)
            {
                int sent = 0;
                while (sent < data.Length || (sent == 0 && data.Length == 0))
                {
                    var iov = new Socket.iovec { iov_base = start + sent, iov_len = (nuint)(data.Length - sent) };
                    var msg = new Socket.msghdr { msg_iov = &iov, msg_iovlen = 1 };
                    if (sent == 0 && fds.Length > 0)
                    {
                        int space = Socket.CMSG_SPACE(fds.Length * sizeof(int));
                        new Span<byte>(control, space).Clear();
                        var cmsg = (Socket.cmsghdr*)control;
                        cmsg->cmsg_len = (nuint)Socket.CMSG_LEN(fds.Length * sizeof(int));
                        cmsg->cmsg_level = Socket.SOL_SOCKET;
                        cmsg->cmsg_type = Socket.SCM_RIGHTS;
                        fds.CopyTo(new Span<int>(Socket.CMSG_DATA(cmsg), fds.Length));
                        msg.msg_control = control;
                        msg.msg_controllen = (nuint)space;
                    }
                    nint n = Socket.sendmsg(raw, &msg, Socket.MSG_NOSIGNAL);
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == Errno.EINTR)
                            continue;
                        throw new ErrnoException(errno, "sendmsg");
                    }
                    sent += (int)n;
                    if (data.Length == 0)
                        break;
                }
            }
        }
    }

    /// <summary>
    /// One recvmsg into <paramref name="buffer"/>: returns the byte count (0 at end of stream) and
    /// appends any received fds to <paramref name="fds"/> (owned by the caller from then on). Fds
    /// arrive with MSG_CMSG_CLOEXEC; a truncated control message (MSG_CTRUNC: more fds than we
    /// accept, so the kernel closed the rest) is an error rather than a silent loss.
    /// </summary>
    public static int Receive(SafeFd socket, Span<byte> buffer, List<SafeFd> fds)
    {
        int space = Socket.CMSG_SPACE(MaxFds * sizeof(int));
        byte* control = stackalloc byte[space];
        using (Borrow(socket, out int raw))
        {
            fixed (byte* start = buffer)
            {
                while (true)
                {
                    var iov = new Socket.iovec { iov_base = start, iov_len = (nuint)buffer.Length };
                    var msg = new Socket.msghdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = (nuint)space };
                    nint n = Socket.recvmsg(raw, &msg, Socket.MSG_CMSG_CLOEXEC);
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == Errno.EINTR)
                            continue;
                        throw new ErrnoException(errno, "recvmsg");
                    }
                    if (msg.msg_controllen >= (nuint)sizeof(Socket.cmsghdr))
                    {
                        var cmsg = (Socket.cmsghdr*)control;
                        if (cmsg->cmsg_level == Socket.SOL_SOCKET && cmsg->cmsg_type == Socket.SCM_RIGHTS)
                        {
                            int count = ((int)cmsg->cmsg_len - Socket.CMSG_LEN(0)) / sizeof(int);
                            var received = new ReadOnlySpan<int>(Socket.CMSG_DATA(cmsg), count);
                            foreach (int fd in received)
                                fds.Add(new SafeFd(fd));
                        }
                    }
                    if ((msg.msg_flags & Socket.MSG_CTRUNC) != 0)
                        throw new ErrnoException(Errno.EPROTO, "recvmsg (control data truncated: too many fds)");
                    return (int)n;
                }
            }
        }
    }

    /// <summary>Waits until the socket is readable (data, end of stream or error); false after <paramref name="timeoutMs"/>.</summary>
    public static bool WaitReadable(SafeFd socket, int timeoutMs)
    {
        using (Borrow(socket, out int raw))
        {
            var deadline = Environment.TickCount64 + timeoutMs;
            while (true)
            {
                var pfd = new Poll.pollfd { fd = raw, events = Poll.POLLIN };
                int wait = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
                int n = Poll.poll(&pfd, 1, wait);
                if (n > 0)
                    return true;
                if (n == 0)
                    return false;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Errno.EINTR)
                    throw new ErrnoException(errno, "poll");
            }
        }
    }

    /// <summary>
    /// shutdown(2) both directions: wakes a thread blocked in accept or recvmsg on this socket
    /// (close alone would not), which is how a socket's owner stops its reader. Errors are moot.
    /// </summary>
    public static void Shutdown(SafeFd socket)
    {
        if (socket.IsClosed)
            return;
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            Socket.shutdown(socket.Fd, Socket.SHUT_RDWR);
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
                socket.DangerousRelease();
        }
    }

    private static SafeFd Create()
    {
        int fd = Socket.socket(Socket.AF_UNIX, Socket.SOCK_STREAM | Socket.SOCK_CLOEXEC, 0);
        if (fd < 0)
            throw ErrnoException.FromLastError("socket");
        return new SafeFd(fd);
    }

    /// <summary>
    /// The address of <paramref name="path"/>. sun_path holds 108 bytes, and instance directories
    /// below a long $XDG_RUNTIME_DIR exceed it: then the parent directory is opened (O_PATH) and the
    /// address goes through its /proc/self/fd link, which the kernel resolves like any path. The
    /// returned fd (null when not needed) must stay open until bind or connect has returned.
    /// </summary>
    private static SafeFd? ShortAddress(string path, out Socket.sockaddr_un addr, out uint length)
    {
        if (Encoding.UTF8.GetByteCount(path) < 108)
        {
            addr = Address(path, out length);
            return null;
        }
        const int O_PATH = 0x200000;
        string parent = Path.GetDirectoryName(path) ?? "/";
        byte[] parentBytes = Encoding.UTF8.GetBytes(parent + "\0");
        int dir;
        fixed (byte* p = parentBytes)
            dir = Fcntl.open(p, O_PATH | Fcntl.O_DIRECTORY | Fcntl.O_CLOEXEC, 0);
        if (dir < 0)
            throw ErrnoException.FromLastError("open", parent);
        var handle = new SafeFd(dir);
        addr = Address($"/proc/self/fd/{dir}/{Path.GetFileName(path)}", out length);
        return handle;
    }

    private static Socket.sockaddr_un Address(string path, out uint length)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= 108)
            throw new ErrnoException(Errno.ENAMETOOLONG, "unix socket path", path);
        var addr = new Socket.sockaddr_un { sun_family = Socket.AF_UNIX };
        for (int i = 0; i < bytes.Length; i++)
            addr.sun_path[i] = bytes[i];
        addr.sun_path[bytes.Length] = 0;
        length = (uint)(sizeof(ushort) + bytes.Length + 1);
        return addr;
    }

    /// <summary>Holds a reference on <paramref name="fd"/> for the duration of a syscall.</summary>
    private static FdLease Borrow(SafeFd fd, out int raw)
    {
        bool added = false;
        fd.DangerousAddRef(ref added);
        raw = fd.Fd;
        return new FdLease(fd);
    }

    private readonly struct FdLease(SafeFd fd) : IDisposable
    {
        public void Dispose() => fd.DangerousRelease();
    }
}
