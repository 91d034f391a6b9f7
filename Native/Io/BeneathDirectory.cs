using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Interop;
using Tmds.Linux;

namespace FlatImage.Native.Io;

/// <summary>
/// A directory inside a tree that someone else controls (a guest's writable layer), reached and
/// used without ever following a symlink. Each component is opened with O_NOFOLLOW relative to
/// the one before (openat(2)), and every operation names a single entry relative to the open
/// directory, so a link planted anywhere on the way — before the walk or while it runs — makes the
/// operation fail (ELOOP/ENOTDIR) instead of reaching a file outside the tree.
/// </summary>
public sealed unsafe class BeneathDirectory : IDisposable
{
    private readonly SafeFd _fd;

    private BeneathDirectory(SafeFd fd) => _fd = fd;

    /// <summary>
    /// Opens <paramref name="root"/> (trusted: the caller's own directory) and then each of
    /// <paramref name="components"/> below it. A missing component is created with exactly
    /// <paramref name="createMode"/> (the umask does not apply) when given, else the result is null. Throws
    /// <see cref="ErrnoException"/> when a component is a symlink or not a directory.
    /// </summary>
    public static BeneathDirectory? Open(string root, IReadOnlyList<string> components, uint? createMode = null)
    {
        var current = new BeneathDirectory(OpenAt(Stat.AT_FDCWD, root, Fcntl.O_RDONLY | Fcntl.O_DIRECTORY | Fcntl.O_CLOEXEC, root));
        foreach (string name in components)
        {
            if (name.Length == 0 || name == "." || name == ".." || name.Contains('/'))
                throw new ArgumentException($"'{name}' is not a single directory entry", nameof(components));
            using var parent = current;
            var child = parent.TryOpenDirectory(name);
            if (child is null && createMode is { } mode)
            {
                parent.MakeDirectory(name, mode);
                child = parent.TryOpenDirectory(name);
                if (child is not null)
                    child.SetMode(mode);
            }
            if (child is null)
                return null;
            current = child;
        }
        return current;
    }

    /// <summary>
    /// The content of regular file <paramref name="name"/>, or null when there is none. A symlink,
    /// a device, a FIFO or a directory under that name, or a file larger than
    /// <paramref name="maxBytes"/>, is an <see cref="ErrnoException"/>: never read through.
    /// </summary>
    public byte[]? ReadFile(string name, int maxBytes)
    {
        int fd = RawOpenAt(name, Fcntl.O_RDONLY | Fcntl.O_NOFOLLOW | Fcntl.O_NONBLOCK | Fcntl.O_CLOEXEC, 0);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno == Errno.ENOENT ? null : throw new ErrnoException(errno, "open", name);
        }
        using var file = new SafeFd(fd);
        var st = StatOf(file, name);
        if ((st.stx_mode & Stat.S_IFMT) != Stat.S_IFREG)
            throw new ErrnoException(Errno.EINVAL, "read (not a regular file)", name);
        if (st.stx_size > (ulong)maxBytes)
            throw new ErrnoException(Errno.EFBIG, "read", name);
        var content = new byte[(int)st.stx_size];
        int total = 0;
        fixed (byte* p = content)
        {
            while (total < content.Length)
            {
                nint n = Unistd.read(fd, p + total, (nuint)(content.Length - total));
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                        continue;
                    throw new ErrnoException(errno, "read", name);
                }
                if (n == 0)
                    break;
                total += (int)n;
            }
        }
        return total == content.Length ? content : content[..total];
    }

    /// <summary>Mode and owner of entry <paramref name="name"/> itself (a symlink is not followed), or null when missing.</summary>
    public (uint Mode, uint Uid, uint Gid)? TryStatEntry(string name)
    {
        Stat.statx_t st;
        byte[] bytes = Zero(name);
        int rc;
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = bytes)
                rc = Stat.statx(_fd.Fd, p, Stat.AT_SYMLINK_NOFOLLOW, Stat.STATX_BASIC_STATS, &st);
        }
        finally { _fd.DangerousRelease(); }
        if (rc != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return errno == Errno.ENOENT ? null : throw new ErrnoException(errno, "statx", name);
        }
        return (st.stx_mode, st.stx_uid, st.stx_gid);
    }

    /// <summary>
    /// Replaces <paramref name="name"/> with a regular file holding <paramref name="content"/>,
    /// atomically: a fresh temporary file (O_EXCL, never an existing inode) is written, synced and
    /// renamed over the name, so a reader sees the old file or the new one, never half of either.
    /// Whatever stood under the name before (a file, a symlink, a whiteout) is replaced, not followed.
    /// </summary>
    public void ReplaceFile(string name, ReadOnlySpan<byte> content, uint mode)
    {
        string temporary = $".{name}.fim-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}";
        int fd = RawOpenAt(temporary, Fcntl.O_WRONLY | Fcntl.O_CREAT | Fcntl.O_EXCL | Fcntl.O_NOFOLLOW | Fcntl.O_CLOEXEC, mode & 0xfff);
        if (fd < 0)
            throw ErrnoException.FromLastError("create", temporary);
        bool renamed = false;
        try
        {
            using (var file = new SafeFd(fd))
            {
                fixed (byte* p = content)
                {
                    int written = 0;
                    while (written < content.Length)
                    {
                        nint n = Unistd.write(fd, p + written, (nuint)(content.Length - written));
                        if (n < 0)
                        {
                            int errno = Marshal.GetLastPInvokeError();
                            if (errno == Errno.EINTR)
                                continue;
                            throw new ErrnoException(errno, "write", temporary);
                        }
                        written += (int)n;
                    }
                }
                // The umask may have narrowed the mode given to open.
                if (LibC.fchmod(fd, (mode_t)(mode & 0xfff)) != 0)
                    throw ErrnoException.FromLastError("fchmod", temporary);
                if (Unistd.fsync(fd) != 0)
                    throw ErrnoException.FromLastError("fsync", temporary);
            }
            byte[] from = Zero(temporary), to = Zero(name);
            int rc;
            bool added = false;
            _fd.DangerousAddRef(ref added);
            try
            {
                fixed (byte* f = from)
                fixed (byte* t = to)
                    rc = Stdio.renameat(_fd.Fd, f, _fd.Fd, t);
            }
            finally { _fd.DangerousRelease(); }
            if (rc != 0)
                throw ErrnoException.FromLastError("rename", name);
            renamed = true;
        }
        finally
        {
            if (!renamed)
                Unlink(temporary);
        }
    }

    /// <summary>Removes file <paramref name="name"/> (never a directory, never through a link); a missing one is fine.</summary>
    public void Unlink(string name)
    {
        byte[] bytes = Zero(name);
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = bytes)
            {
                if (LibC.unlinkat(_fd.Fd, p, 0) != 0 && Marshal.GetLastPInvokeError() != Errno.ENOENT)
                    throw ErrnoException.FromLastError("unlink", name);
            }
        }
        finally { _fd.DangerousRelease(); }
    }

    /// <summary>Removes directory <paramref name="name"/> if it is empty; a missing or non-empty one (or a non-directory) is left alone.</summary>
    public void RemoveEmptyDirectory(string name)
    {
        const int AT_REMOVEDIR = 0x200;
        byte[] bytes = Zero(name);
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = bytes)
            {
                if (LibC.unlinkat(_fd.Fd, p, AT_REMOVEDIR) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno is not (Errno.ENOENT or Errno.ENOTEMPTY or Errno.ENOTDIR or Errno.EEXIST))
                        throw new ErrnoException(errno, "rmdir", name);
                }
            }
        }
        finally { _fd.DangerousRelease(); }
    }

    private BeneathDirectory? TryOpenDirectory(string name)
    {
        int fd = RawOpenAt(name, Fcntl.O_RDONLY | Fcntl.O_DIRECTORY | Fcntl.O_NOFOLLOW | Fcntl.O_CLOEXEC, 0);
        if (fd >= 0)
            return new BeneathDirectory(new SafeFd(fd));
        int errno = Marshal.GetLastPInvokeError();
        return errno == Errno.ENOENT ? null : throw new ErrnoException(errno, "open directory", name);
    }

    /// <summary>Gives this directory to <paramref name="uid"/>:<paramref name="gid"/> (fchown: the open directory itself, never a path).</summary>
    public void SetOwner(uint uid, uint gid)
    {
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            if (LibC.fchown(_fd.Fd, uid, gid) != 0)
                throw ErrnoException.FromLastError("fchown", "directory");
        }
        finally { _fd.DangerousRelease(); }
    }

    private void SetMode(uint mode)
    {
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            if (LibC.fchmod(_fd.Fd, (mode_t)(mode & 0xfff)) != 0)
                throw ErrnoException.FromLastError("fchmod", "directory");
        }
        finally { _fd.DangerousRelease(); }
    }

    private void MakeDirectory(string name, uint mode)
    {
        byte[] bytes = Zero(name);
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = bytes)
            {
                if (LibC.mkdirat(_fd.Fd, p, (mode_t)(mode & 0xfff)) != 0 && Marshal.GetLastPInvokeError() != Errno.EEXIST)
                    throw ErrnoException.FromLastError("mkdir", name);
            }
        }
        finally { _fd.DangerousRelease(); }
    }

    private int RawOpenAt(string name, int flags, uint mode)
    {
        byte[] bytes = Zero(name);
        bool added = false;
        _fd.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = bytes)
                return LibC.openat(_fd.Fd, p, flags, (mode_t)mode);
        }
        finally { _fd.DangerousRelease(); }
    }

    private static SafeFd OpenAt(int dirfd, string path, int flags, string what)
    {
        byte[] bytes = Zero(path);
        int fd;
        fixed (byte* p = bytes)
            fd = LibC.openat(dirfd, p, flags, (mode_t)0);
        return fd >= 0 ? new SafeFd(fd) : throw ErrnoException.FromLastError("open", what);
    }

    private static Stat.statx_t StatOf(SafeFd file, string what)
    {
        Stat.statx_t st;
        byte empty = 0;
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            if (Stat.statx(file.Fd, &empty, Fcntl.AT_EMPTY_PATH, Stat.STATX_BASIC_STATS, &st) != 0)
                throw ErrnoException.FromLastError("statx", what);
        }
        finally { file.DangerousRelease(); }
        return st;
    }

    private static byte[] Zero(string s) => Unistd.Utf8Z(s);

    public void Dispose() => _fd.Dispose();
}
