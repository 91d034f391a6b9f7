// Ours: Tmds.LibC 0.5.0 binds stat and mknod to glibc's __xstat/__xmknod, which glibc 2.33 retired.
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace FlatImage.Native.Interop;

/// <summary>
/// &lt;sys/stat.h&gt;: statx (glibc &gt;= 2.28, through Tmds.LibC) and the <c>struct statx</c> of
/// &lt;linux/stat.h&gt;. statx is used instead of stat/lstat because its struct has the same layout on
/// every architecture. Our <see cref="statx_t"/> is the kernel's 256-byte struct, the same as
/// Tmds.Linux.statx; callers keep it. The constants stay C# constants (Tmds.LibC has properties,
/// which patterns cannot use). stat and mknod stay our own imports (see the first line). Raw results, errno set.
/// </summary>
public static unsafe partial class Stat
{
    private const string Libc = "libc";

    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_NO_AUTOMOUNT = 0x800;
    public const uint STATX_BASIC_STATS = 0x7ff;

    public const uint S_IFMT = 0xF000;
    public const uint S_IFSOCK = 0xC000;
    public const uint S_IFLNK = 0xA000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFBLK = 0x6000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFCHR = 0x2000;
    public const uint S_IFIFO = 0x1000;

    [StructLayout(LayoutKind.Sequential)]
    public struct statx_timestamp
    {
        public long tv_sec;
        public uint tv_nsec;
        public int __reserved;
    }

    /// <summary><c>struct statx</c>: 256 bytes, identical on all Linux architectures.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    public struct statx_t
    {
        public uint stx_mask;
        public uint stx_blksize;
        public ulong stx_attributes;
        public uint stx_nlink;
        public uint stx_uid;
        public uint stx_gid;
        public ushort stx_mode;
        public ushort __spare0;
        public ulong stx_ino;
        public ulong stx_size;
        public ulong stx_blocks;
        public ulong stx_attributes_mask;
        public statx_timestamp stx_atime;
        public statx_timestamp stx_btime;
        public statx_timestamp stx_ctime;
        public statx_timestamp stx_mtime;
        public uint stx_rdev_major;
        public uint stx_rdev_minor;
        public uint stx_dev_major;
        public uint stx_dev_minor;
    }

    public static int statx(int dirfd, byte* pathname, int flags, uint mask, statx_t* statxbuf)
        => LibC.statx(dirfd, pathname, flags, mask, (Tmds.Linux.statx*)statxbuf);

    /// <summary>glibc's <c>makedev</c> (&lt;sys/sysmacros.h&gt;) is a macro, so it is written out here.</summary>
    public static ulong makedev(uint major, uint minor)
        => ((ulong)(major & 0xfffff000u) << 32) | ((ulong)(major & 0xfffu) << 8)
         | ((ulong)(minor & 0xffffff00u) << 12) | (minor & 0xffu);

    public static uint major(ulong dev) => (uint)(((dev >> 32) & 0xfffff000u) | ((dev >> 8) & 0xfffu));

    public static uint minor(ulong dev) => (uint)(((dev >> 12) & 0xffffff00u) | (dev & 0xffu));

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int mknod(byte* pathname, uint mode, ulong dev);

    public static int mkfifo(byte* pathname, uint mode) => LibC.mkfifo(pathname, (mode_t)(ushort)mode);

    public static int mkdir(string pathname, uint mode)
    {
        fixed (byte* p = Unistd.Utf8Z(pathname))
            return LibC.mkdir(p, (mode_t)(ushort)mode);
    }

    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct stat_t
    {
        [FieldOffset(0)] public ulong st_dev;
        [FieldOffset(8)] public ulong st_ino;
        [FieldOffset(16)] public ulong st_nlink;
        [FieldOffset(24)] public uint st_mode;
        [FieldOffset(28)] public uint st_uid;
        [FieldOffset(32)] public uint st_gid;
        [FieldOffset(40)] public ulong st_rdev;
        [FieldOffset(48)] public long st_size;
    }

    [LibraryImport(Libc, EntryPoint = "stat", SetLastError = true)]
    public static partial int stat(byte* pathname, stat_t* statbuf);
}
