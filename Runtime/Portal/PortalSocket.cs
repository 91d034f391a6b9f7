using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Portal;

/// <summary>
/// Where portal sockets may be trusted. A socket path is only a name, and a guest shares the
/// directory its own daemon listens in (bound read-write into the sandbox): it can put a symlink
/// there that points at any host socket (a session bus, an ssh agent) and wait for
/// <c>fim-instance exec</c> to send it the caller's request. So a socket is opened without
/// following symlinks, checked, and connected to through the handle that was checked:
/// <list type="bullet">
/// <item>its directory is a real directory (not a symlink), owned by the caller and writable by no
/// one else — another user could otherwise swap the socket;</item>
/// <item>the socket itself is a socket (not a symlink, not a file) owned by the caller.</item>
/// </list>
/// The directories above are the private runtime directory's (0700, checked by RuntimeDirectory).
/// </summary>
public static class PortalSocket
{
    /// <summary>Connects to the portal socket at <paramref name="path"/> after the checks above.</summary>
    /// <exception cref="UnsafePortalSocketException">a check failed.</exception>
    /// <exception cref="ErrnoException">the socket is missing or refuses the connection.</exception>
    public static SafeFd Connect(string path)
    {
        using var directory = OpenDirectory(Path.GetDirectoryName(path) ?? "/");
        string name = Path.GetFileName(path);
        using var socket = PathHandle.Open(directory, name, mustBeDirectory: false, out int errno)
            ?? throw new ErrnoException(errno, "open", path);
        if (FileStatus.TryFstat(socket, out var st) is var statError and not 0)
            throw new ErrnoException(statError, "fstat", path);
        uint self = Unistd.getuid();
        if (st.FileType == Stat.S_IFLNK)
            throw new UnsafePortalSocketException($"Refusing portal socket '{path}': it is a symbolic link");
        if (st.FileType != Stat.S_IFSOCK)
            throw new UnsafePortalSocketException($"Refusing portal socket '{path}': it is not a socket");
        if (st.Uid != self)
            throw new UnsafePortalSocketException($"Refusing portal socket '{path}': it is owned by uid {st.Uid}");
        return UnixSocket.Connect(socket, path);
    }

    /// <summary>Checks the directory a listener is about to bind in (the same rules); returns its path.</summary>
    public static string CheckDirectory(string directory)
    {
        using var _ = OpenDirectory(directory);
        return directory;
    }

    private static SafeFd OpenDirectory(string directory)
    {
        var fd = PathHandle.Open(null, directory, mustBeDirectory: true, out int errno);
        if (fd is null)
        {
            // O_NOFOLLOW|O_DIRECTORY on a symlink: ELOOP or ENOTDIR, depending on what it points at.
            if (errno is 40 /* ELOOP */ or 20 /* ENOTDIR */ && FileStatus.TryLstat(System.Text.Encoding.UTF8.GetBytes(directory), out var link) == 0)
                throw new UnsafePortalSocketException(link.FileType == Stat.S_IFLNK
                    ? $"Refusing portal directory '{directory}': it is a symbolic link"
                    : $"Refusing portal directory '{directory}': it is not a directory");
            throw new ErrnoException(errno, "open", directory);
        }
        try
        {
            if (FileStatus.TryFstat(fd, out var st) is var statError and not 0)
                throw new ErrnoException(statError, "fstat", directory);
            if (st.Uid != Unistd.getuid())
                throw new UnsafePortalSocketException($"Refusing portal directory '{directory}': it is owned by uid {st.Uid}");
            if ((st.Mode & 0b000_010_010) != 0)
                throw new UnsafePortalSocketException($"Refusing portal directory '{directory}': it is writable by other users (mode {Convert.ToString(st.Mode & 0xFFF, 8)})");
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }
}
