using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Runtime.Portal;

namespace FlatImage.Runtime.Tests.Portal;

/// <summary>
/// What a portal client agrees to connect to, on real sockets: the caller's own socket in the
/// caller's private directory, and nothing a guest or another user could have put in its place.
/// Each refusal is checked on the socket the trap points at too: it never sees a connection.
/// </summary>
public sealed class PortalSocketTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-portal-socket-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Dir(string name, UnixFileMode mode = (UnixFileMode)0b111_000_000)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    [Fact]
    public void Connects_to_the_callers_socket_in_a_private_directory()
    {
        using var listener = PortalListener.Create(Path.Combine(Dir("ok"), "socket"));
        using var connection = PortalConnection.Connect(listener.Path);
        using var accepted = listener.Accept();
        Assert.NotNull(accepted);
    }

    [Fact]
    public void A_symlink_at_the_socket_path_is_refused_and_its_target_never_connected()
    {
        // The trap: a guest links its daemon socket to a host service's socket.
        using var victim = UnixSocket.Listen(Path.Combine(Dir("victim"), "bus"));
        string planted = Path.Combine(Dir("daemon"), "socket");
        File.CreateSymbolicLink(planted, Path.Combine(_dir, "victim", "bus"));

        var e = Assert.Throws<UnsafePortalSocketException>(() => PortalConnection.Connect(planted));
        Assert.Equal($"Refusing portal socket '{planted}': it is a symbolic link", e.Message);
        Assert.False(UnixSocket.WaitReadable(victim, 200), "the symlink's target got a connection");
    }

    [Fact]
    public void A_symlinked_directory_is_refused()
    {
        using var victim = UnixSocket.Listen(Path.Combine(Dir("victim"), "socket"));
        string link = Path.Combine(_dir, "daemon");
        Directory.CreateSymbolicLink(link, Path.Combine(_dir, "victim"));

        var e = Assert.Throws<UnsafePortalSocketException>(() => PortalConnection.Connect(Path.Combine(link, "socket")));
        Assert.Contains("is a symbolic link", e.Message);
        Assert.False(UnixSocket.WaitReadable(victim, 200), "the symlink's target got a connection");
        Assert.Throws<UnsafePortalSocketException>(() => PortalListener.Create(Path.Combine(link, "other")));
    }

    [Fact]
    public void A_directory_others_can_write_is_refused_for_connecting_and_listening()
    {
        string open = Dir("open", (UnixFileMode)0b111_111_111);
        using var listener = UnixSocket.Listen(Path.Combine(open, "socket"));
        var e = Assert.Throws<UnsafePortalSocketException>(() => PortalConnection.Connect(Path.Combine(open, "socket")));
        Assert.Equal($"Refusing portal directory '{open}': it is writable by other users (mode 777)", e.Message);
        Assert.False(UnixSocket.WaitReadable(listener, 200));
        Assert.Throws<UnsafePortalSocketException>(() => PortalListener.Create(Path.Combine(open, "other")));
    }

    [Fact]
    public void A_file_that_is_not_a_socket_is_refused()
    {
        string path = Path.Combine(Dir("file"), "socket");
        File.WriteAllText(path, "");
        var e = Assert.Throws<UnsafePortalSocketException>(() => PortalConnection.Connect(path));
        Assert.Contains("it is not a socket", e.Message);
    }

    [Fact]
    public void A_missing_socket_is_an_errno_not_a_refusal()
    {
        var e = Assert.Throws<ErrnoException>(() => PortalConnection.Connect(Path.Combine(Dir("empty"), "socket")));
        Assert.Equal(Errno.ENOENT, e.Errno);
    }

    [Fact]
    public void Sockets_and_directories_of_another_user_are_refused()
    {
        // Changing owners takes root (CI runs as root); as a user, the other tests still cover the rules.
        if (Unistd.getuid() != 0)
            return;
        string dir = Dir("theirs");
        using var listener = UnixSocket.Listen(Path.Combine(dir, "socket"));
        Chown(Path.Combine(dir, "socket"), 12345);
        var e = Assert.Throws<UnsafePortalSocketException>(() => PortalConnection.Connect(Path.Combine(dir, "socket")));
        Assert.Equal($"Refusing portal socket '{Path.Combine(dir, "socket")}': it is owned by uid 12345", e.Message);
        Chown(dir, 12345);
        e = Assert.Throws<UnsafePortalSocketException>(() => PortalConnection.Connect(Path.Combine(dir, "socket")));
        Assert.Equal($"Refusing portal directory '{dir}': it is owned by uid 12345", e.Message);
        Assert.False(UnixSocket.WaitReadable(listener, 200));
    }

    private static void Chown(string path, int uid)
    {
        using var p = System.Diagnostics.Process.Start("chown", [$"{uid}", path])!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }
}
