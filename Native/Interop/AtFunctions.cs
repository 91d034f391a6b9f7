// Ours where Tmds.LibC 0.5.0 lacks the call: copy_file_range, renameat2, mknodat (bound to the retired __xmknodat), xattrs, fstatfs, rlimits.
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace FlatImage.Native.Interop;

// The *at(2) family and the fd-based calls a passthrough filesystem needs, each next to the header
// it comes from (partial classes of the existing mirrors). Everything is relative to a directory fd,
// so a served tree is reached one component at a time and never through a path a guest could steer.
// x86-64 glibc values. Calls Tmds.LibC has delegate to it; the rest are our own imports (first
// line). Raw results, errno set either way.

public static unsafe partial class Fcntl
{
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_PATH = 0x200000;
    public const int O_ACCMODE = 0x3;
    public const int AT_EMPTY_PATH = 0x1000;
    public const int AT_REMOVEDIR = 0x200;
    public const int AT_SYMLINK_FOLLOW = 0x400;

    public static int openat(int dirfd, byte* pathname, int flags, uint mode) => LibC.openat(dirfd, pathname, flags, (mode_t)(ushort)mode);

    public static int fallocate(int fd, int mode, long offset, long len) => LibC.fallocate(fd, mode, offset, len);
}

public static unsafe partial class Unistd
{
    private const string Libc = "libc";

    public const int SEEK_SET = 0;

    public static int unlinkat(int dirfd, byte* pathname, int flags) => LibC.unlinkat(dirfd, pathname, flags);

    public static int symlinkat(byte* target, int newdirfd, byte* linkpath) => LibC.symlinkat(target, newdirfd, linkpath);

    public static int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags) => LibC.linkat(olddirfd, oldpath, newdirfd, newpath, flags);

    public static nint readlinkat(int dirfd, byte* pathname, byte* buf, nuint bufsiz) => (nint)(long)LibC.readlinkat(dirfd, pathname, buf, (size_t)(ulong)bufsiz);

    public static int fchownat(int dirfd, byte* pathname, uint owner, uint group, int flags) => LibC.fchownat(dirfd, pathname, owner, group, flags);

    public static nint pread(int fd, byte* buf, nuint count, long offset) => (nint)(long)LibC.pread(fd, buf, (size_t)(ulong)count, offset);

    public static nint pwrite(int fd, byte* buf, nuint count, long offset) => (nint)(long)LibC.pwrite(fd, buf, (size_t)(ulong)count, offset);

    public static int ftruncate(int fd, long length) => LibC.ftruncate(fd, length);

    public static long lseek(int fd, long offset, int whence) => LibC.lseek(fd, offset, whence);

    public static int dup(int fd) => LibC.dup(fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint copy_file_range(int fd_in, long* off_in, int fd_out, long* off_out, nuint len, uint flags);
}

/// <summary>Mirror of renameat2 from &lt;stdio.h&gt; (glibc &gt;= 2.28).</summary>
public static unsafe partial class StdioAt
{
    private const string Libc = "libc";

    public const uint RENAME_NOREPLACE = 1;
    public const uint RENAME_EXCHANGE = 2;
    public const uint RENAME_WHITEOUT = 4;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int renameat2(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, uint flags);
}

public static unsafe partial class Stat
{
    public static int mkdirat(int dirfd, byte* pathname, uint mode) => LibC.mkdirat(dirfd, pathname, (mode_t)(ushort)mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int mknodat(int dirfd, byte* pathname, uint mode, ulong dev);

    public static int fchmodat(int dirfd, byte* pathname, uint mode, int flags) => LibC.fchmodat(dirfd, pathname, (mode_t)(ushort)mode, flags);

    public static int fchmod(int fd, uint mode) => LibC.fchmod(fd, (mode_t)(ushort)mode);

    public const long UTIME_NOW = (1L << 30) - 1;
    public const long UTIME_OMIT = (1L << 30) - 2;

    /// <summary>struct timespec (x86-64), the same 16 bytes as Tmds.Linux.timespec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct timespec
    {
        public long tv_sec;
        public long tv_nsec;
    }

    public static int utimensat(int dirfd, byte* pathname, timespec* times, int flags) => LibC.utimensat(dirfd, pathname, (Tmds.Linux.timespec*)times, flags);

    public static int futimens(int fd, timespec* times) => LibC.futimens(fd, (Tmds.Linux.timespec*)times);
}

public static unsafe partial class Xattr
{
    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint getxattr(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int setxattr(byte* path, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint listxattr(byte* path, byte* list, nuint size);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int removexattr(byte* path, byte* name);
}

/// <summary>Mirror of &lt;sys/vfs.h&gt; (fstatfs) and &lt;sys/resource.h&gt; (RLIMIT_NOFILE), x86-64 layouts.</summary>
public static unsafe partial class Vfs
{
    private const string Libc = "libc";

    /// <summary><c>struct statfs</c> on x86-64: 120 bytes, every field 8 bytes except f_fsid (2 × int).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 120)]
    public struct statfs_t
    {
        public long f_type;
        public long f_bsize;
        public ulong f_blocks;
        public ulong f_bfree;
        public ulong f_bavail;
        public ulong f_files;
        public ulong f_ffree;
        public long f_fsid;
        public long f_namelen;
        public long f_frsize;
        public long f_flags;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fstatfs(int fd, statfs_t* buf);

    public const int RLIMIT_NOFILE = 7;

    [StructLayout(LayoutKind.Sequential)]
    public struct rlimit
    {
        public ulong rlim_cur;
        public ulong rlim_max;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int getrlimit(int resource, rlimit* rlim);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int setrlimit(int resource, rlimit* rlim);
}
