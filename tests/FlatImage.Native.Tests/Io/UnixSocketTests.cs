using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using Xunit;

namespace FlatImage.Native.Tests.Io;

public sealed unsafe class UnixSocketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-unix-socket-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<int> PathLengths => new() { 40, 200 };

    [Theory]
    [MemberData(nameof(PathLengths))]
    public void Passes_bytes_and_fds_and_reports_the_peer_uid_at_any_path_length(int length)
    {
        // Longer than sun_path's 108 bytes goes through the parent directory's /proc/self/fd link.
        string deep = _dir;
        while (deep.Length < length)
            deep = Path.Combine(deep, "abcdefghij");
        Directory.CreateDirectory(deep);
        string path = Path.Combine(deep, "socket");
        using var listener = UnixSocket.Listen(path);
        using var client = UnixSocket.Connect(path);
        using var server = UnixSocket.Accept(listener)!;
        Assert.Equal(Unistd.getuid(), UnixSocket.PeerUid(server));

        int* pipe = stackalloc int[2];
        Assert.Equal(0, Unistd.pipe2(pipe, Fcntl.O_CLOEXEC));
        using var readEnd = new SafeFd(pipe[0]);
        using (var writeEnd = new SafeFd(pipe[1]))
            UnixSocket.Send(client, "hello"u8, [writeEnd.Fd]);

        var fds = new List<SafeFd>();
        byte[] buffer = new byte[16];
        Assert.Equal(5, UnixSocket.Receive(server, buffer, fds));
        Assert.Equal("hello"u8.ToArray(), buffer[..5]);
        var received = Assert.Single(fds);
        // Received with MSG_CMSG_CLOEXEC: never leaked into a child by accident.
        Assert.NotEqual(0, Fcntl.fcntl(received.Fd, Fcntl.F_GETFD, 0) & Fcntl.FD_CLOEXEC);
        byte b = 42;
        Assert.Equal(1, (int)Unistd.write(received.Fd, &b, 1));
        received.Dispose();
        byte got = 0;
        Assert.Equal(1, (int)Unistd.read(readEnd.Fd, &got, 1));
        Assert.Equal(42, got);

        client.Dispose();
        Assert.Equal(0, UnixSocket.Receive(server, buffer, fds));
    }

    [Fact]
    public void Shutdown_wakes_a_blocked_accept_and_receive()
    {
        string path = Path.Combine(_dir, "s");
        using var listener = UnixSocket.Listen(path);
        var accepting = Task.Run(() => UnixSocket.Accept(listener));
        Thread.Sleep(100);
        UnixSocket.Shutdown(listener);
        Assert.True(accepting.Wait(TimeSpan.FromSeconds(5)));
        Assert.Null(accepting.Result);

        using var second = UnixSocket.Listen(Path.Combine(_dir, "t"));
        using var client = UnixSocket.Connect(Path.Combine(_dir, "t"));
        using var server = UnixSocket.Accept(second)!;
        var receiving = Task.Run(() => UnixSocket.Receive(server, new byte[4], []));
        Thread.Sleep(100);
        UnixSocket.Shutdown(server);
        Assert.True(receiving.Wait(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, receiving.Result);
    }

    [Fact]
    public void A_missing_socket_is_an_errno()
    {
        var e = Assert.Throws<ErrnoException>(() => UnixSocket.Connect(Path.Combine(_dir, "nothing")));
        Assert.Equal(Errno.ENOENT, e.Errno);
    }
}
