using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Paths;

/// <summary>
/// The per-user private runtime directory (docs/architecture.md "Runtime directories"): <c>$XDG_RUNTIME_DIR/fim</c>
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
    public static string EnsurePrivate(string path) => EnsureOwned(path, "runtime directory", OwnedDirectory.Private);

    /// <summary>What <see cref="EnsureOwned"/> accepts besides "ours, a real directory".</summary>
    public enum OwnedDirectory
    {
        /// <summary>No access for anyone else at all (mode 0700); anything looser is refused.</summary>
        Private,

        /// <summary>Private from now on: a looser mode that lets no one else write is tightened to 0700 (directories made before it had to be).</summary>
        Tightened,

        /// <summary>Readable by others, writable by no one else (a tree whose modes the guest sees, such as the writable layer's root).</summary>
        NotWritableByOthers,
    }

    /// <summary>
    /// Creates <paramref name="path"/> (0700, or 0755 for <see cref="OwnedDirectory.NotWritableByOthers"/>)
    /// if needed, then refuses it unless it is a real directory owned by the caller that no one
    /// else can write to: in a shared or sticky directory, another user could have made it first
    /// and planted files the launcher would then run or mount. <paramref name="what"/> names it in
    /// the one-line refusal.
    /// </summary>
    public static string EnsureOwned(string path, string what, OwnedDirectory rule)
    {
        uint createMode = rule == OwnedDirectory.NotWritableByOthers ? 0b111_101_101u : 0b111_000_000u;
        if (Stat.mkdir(path, createMode) < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == 2 /* ENOENT: parent missing */)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                return EnsureOwned(path, what, rule);
            }
            if (errno != 17 /* EEXIST */)
                throw new ErrnoException(errno, "mkdir", path);
        }
        var st = FileStatus.Lstat(System.Text.Encoding.UTF8.GetBytes(path));
        if (st.FileType == Stat.S_IFLNK)
            throw new UnsafeDirectoryException($"Refusing {what} '{path}': it is a symbolic link");
        if (st.FileType != Stat.S_IFDIR)
            throw new UnsafeDirectoryException($"Refusing {what} '{path}': it is not a directory");
        if (st.Uid != Unistd.getuid())
            throw new UnsafeDirectoryException($"Refusing {what} '{path}': it is owned by uid {st.Uid}");
        uint others = rule == OwnedDirectory.Private ? 0b000_111_111u : 0b000_010_010u;
        if ((st.Mode & others) != 0)
            throw new UnsafeDirectoryException($"Refusing {what} '{path}': it is {(rule == OwnedDirectory.Private ? "accessible" : "writable")} to other users (mode {Convert.ToString(st.Mode & 0xFFF, 8)})");
        if (rule == OwnedDirectory.Tightened && (st.Mode & 0b000_111_111) != 0)
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
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
