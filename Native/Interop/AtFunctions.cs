using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

// The *at(2) family and the fd-based calls a passthrough filesystem needs, each next to the header
// it comes from (partial classes of the existing mirrors). Everything is relative to a directory fd,
// so a served tree is reached one component at a time and never through a path a guest could steer.
// x86-64 glibc values. Raw results, errno via SetLastError.

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

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int openat(int dirfd, byte* pathname, int flags, uint mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fallocate(int fd, int mode, long offset, long len);
}

public static unsafe partial class Unistd
{
    public const int SEEK_SET = 0;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int unlinkat(int dirfd, byte* pathname, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int symlinkat(byte* target, int newdirfd, byte* linkpath);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int linkat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint readlinkat(int dirfd, byte* pathname, byte* buf, nuint bufsiz);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fchownat(int dirfd, byte* pathname, uint owner, uint group, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint pread(int fd, byte* buf, nuint count, long offset);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint pwrite(int fd, byte* buf, nuint count, long offset);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int dup(int fd);

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
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int mkdirat(int dirfd, byte* pathname, uint mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int mknodat(int dirfd, byte* pathname, uint mode, ulong dev);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fchmodat(int dirfd, byte* pathname, uint mode, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    public const long UTIME_NOW = (1L << 30) - 1;
    public const long UTIME_OMIT = (1L << 30) - 2;

    /// <summary>struct timespec (x86-64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct timespec
    {
        public long tv_sec;
        public long tv_nsec;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int utimensat(int dirfd, byte* pathname, timespec* times, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int futimens(int fd, timespec* times);
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
