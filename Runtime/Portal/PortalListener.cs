using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Portal;

/// <summary>
/// A portal's listening socket. It lives in the instance's directory inside the private runtime
/// directory (0700), so only the owner can reach it at all; every connection's peer uid is
/// checked again by <see cref="PortalSession"/> before a byte is read.
/// </summary>
public sealed class PortalListener : IDisposable
{
    private readonly SafeFd _socket;

    private PortalListener(string path, SafeFd socket)
    {
        Path = path;
        _socket = socket;
    }

    public string Path { get; }

    /// <summary>Listens at <paramref name="path"/>; a socket file a dead run left there is replaced.</summary>
    public static PortalListener Create(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        // Binding never follows a symlink at the socket name, but a directory someone else can
        // write lets them replace our socket after the fact.
        PortalSocket.CheckDirectory(System.IO.Path.GetDirectoryName(path)!);
        try
        {
            return new PortalListener(path, UnixSocket.Listen(path));
        }
        catch (ErrnoException e) when (e.Errno == Errno.EEXIST /* EADDRINUSE is 98 */ || e.Errno == 98)
        {
            File.Delete(path);
            return new PortalListener(path, UnixSocket.Listen(path));
        }
    }

    /// <summary>The next connection, or null once <see cref="Stop"/> or <see cref="Dispose"/> was called.</summary>
    public PortalConnection? Accept() => UnixSocket.Accept(_socket) is { } fd ? new PortalConnection(fd) : null;

    /// <summary>Wakes a thread blocked in <see cref="Accept"/>; later accepts return null.</summary>
    public void Stop() => UnixSocket.Shutdown(_socket);

    public void Dispose()
    {
        Stop();
        _socket.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
    }
}
