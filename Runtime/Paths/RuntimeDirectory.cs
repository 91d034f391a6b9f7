using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Paths;

/// <summary>
/// The per-user private runtime directory (design.md "Runtime directories"): <c>$XDG_RUNTIME_DIR/fim</c>
/// when set, else <c>/tmp/fim-$UID</c>. It holds the relocated launcher, extracted tools and instance
/// sockets, so it must be ours alone: created 0700, and refused when it is a symlink, not a directory,
/// owned by someone else, or open to others — in a shared /tmp another user could have created it first.
/// </summary>
public static class RuntimeDirectory
{
    public static string Resolve()
    {
        uint uid = Unistd.getuid();
        string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)
            ? Path.Combine(xdg, "fim")
            : $"/tmp/fim-{uid}";
    }

    /// <summary>Creates (if needed) and verifies the runtime root; returns its path.</summary>
    public static string Ensure() => EnsurePrivate(Resolve());

    /// <summary>
    /// mkdir 0700 then lstat: lstat (not stat) so a planted symlink is seen as a symlink, and the
    /// owner/mode check catches a directory someone else created or loosened.
    /// </summary>
    public static string EnsurePrivate(string path)
    {
        if (Stat.mkdir(path, 0b111_000_000) < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == 2 /* ENOENT: parent missing */)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                return EnsurePrivate(path);
            }
            if (errno != 17 /* EEXIST */)
                throw new ErrnoException(errno, "mkdir", path);
        }
        var st = FileStatus.Lstat(System.Text.Encoding.UTF8.GetBytes(path));
        if (st.FileType == Stat.S_IFLNK)
            throw new UnsafeDirectoryException($"Refusing runtime directory '{path}': it is a symbolic link");
        if (st.FileType != Stat.S_IFDIR)
            throw new UnsafeDirectoryException($"Refusing runtime directory '{path}': it is not a directory");
        if (st.Uid != Unistd.getuid())
            throw new UnsafeDirectoryException($"Refusing runtime directory '{path}': it is owned by uid {st.Uid}");
        if ((st.Mode & 0b000_111_111) != 0)
            throw new UnsafeDirectoryException($"Refusing runtime directory '{path}': it is accessible to other users (mode {Convert.ToString(st.Mode & 0xFFF, 8)})");
        return path;
    }

    /// <summary>Creates a subdirectory of a verified private directory (mode 0700; its parent already keeps others out).</summary>
    public static string CreateChild(string parent, params string[] parts)
    {
        string path = parts.Length == 0 ? parent : Path.Combine([parent, .. parts]);
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}
