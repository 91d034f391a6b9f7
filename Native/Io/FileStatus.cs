using System.Text;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Io;

/// <summary>What lstat says about a path (from statx, so mtime keeps its nanoseconds).</summary>
public readonly record struct FileStatus(
    ulong Device, ulong Inode, uint Mode, uint Nlink, uint Uid, uint Gid, ulong Rdev,
    long Size, long MtimeSeconds, uint MtimeNanoseconds)
{
    public uint FileType => Mode & Stat.S_IFMT;

    /// <summary>lstat(2) by raw path bytes (no NUL); returns 0 or a positive errno.</summary>
    public static int TryLstat(ReadOnlySpan<byte> path, out FileStatus status) => TryStatx(path, Stat.AT_SYMLINK_NOFOLLOW, out status);

    /// <summary>stat(2), following symlinks (e.g. /proc/self/fd/N to the open file); 0 or a positive errno.</summary>
    public static int TryStat(ReadOnlySpan<byte> path, out FileStatus status) => TryStatx(path, 0, out status);

    /// <summary>fstat(2) of an open fd (an O_PATH one included), through statx with AT_EMPTY_PATH; 0 or a positive errno.</summary>
    public static unsafe int TryFstat(SafeFd fd, out FileStatus status)
    {
        bool added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            return TryStatx(fd.Fd, ""u8, AT_EMPTY_PATH, out status);
        }
        finally
        {
            fd.DangerousRelease();
        }
    }

    private const int AT_EMPTY_PATH = 0x1000;

    private static int TryStatx(ReadOnlySpan<byte> path, int followFlags, out FileStatus status) =>
        TryStatx(Stat.AT_FDCWD, path, followFlags, out status);

    private static unsafe int TryStatx(int dirfd, ReadOnlySpan<byte> path, int followFlags, out FileStatus status)
    {
        Stat.statx_t buf;
        int rc;
        using (var z = new NulTerminated(path))
        {
            fixed (byte* p = z.Bytes)
                rc = Stat.statx(dirfd, p, followFlags | Stat.AT_NO_AUTOMOUNT, Stat.STATX_BASIC_STATS, &buf);
        }
        if (rc != 0)
        {
            status = default;
            return System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        }
        status = new FileStatus(
            Stat.makedev(buf.stx_dev_major, buf.stx_dev_minor), buf.stx_ino, buf.stx_mode, buf.stx_nlink,
            buf.stx_uid, buf.stx_gid, Stat.makedev(buf.stx_rdev_major, buf.stx_rdev_minor),
            (long)buf.stx_size, buf.stx_mtime.tv_sec, buf.stx_mtime.tv_nsec);
        return 0;
    }

    /// <summary>lstat(2); throws <see cref="ErrnoException"/>.</summary>
    public static FileStatus Lstat(ReadOnlySpan<byte> path)
    {
        int errno = TryLstat(path, out var status);
        if (errno != 0)
            throw new ErrnoException(errno, "lstat", Encoding.UTF8.GetString(path));
        return status;
    }
}
