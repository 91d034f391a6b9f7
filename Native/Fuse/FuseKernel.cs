using System.Runtime.InteropServices;

// Mirror of <linux/fuse.h> (the FUSE kernel protocol), for the parts our read-only servers use.
// Names are the C names on purpose: this file is checked against the header by
// tests/FlatImage.Native.Tests/Fuse/FuseKernelTests.cs, which compiles a C program that prints
// sizeof/offsetof/constant values and compares them with this side. Layouts are explicit
// (FieldOffset) so that a reordering here cannot silently change the wire format.
// Written against protocol 7.38 (the header on the build machine); newer kernels negotiate down
// to it in FUSE_INIT (see FuseSession.NegotiateInit).
#pragma warning disable IDE1006 // C names

namespace FlatImage.Native.Fuse;

/// <summary>Constants of &lt;linux/fuse.h&gt;.</summary>
public static partial class FuseKernel
{
    public const uint FUSE_KERNEL_VERSION = 7;
    /// <summary>The minor version the structs in this file describe.</summary>
    public const uint FUSE_KERNEL_MINOR_VERSION = 38;
    public const ulong FUSE_ROOT_ID = 1;
    public const int FUSE_MIN_READ_BUFFER = 8192;
    public const int FUSE_COMPAT_ENTRY_OUT_SIZE = 120;
    public const int FUSE_COMPAT_ATTR_OUT_SIZE = 96;
    public const int FUSE_COMPAT_STATFS_SIZE = 48;
    public const int FUSE_COMPAT_INIT_OUT_SIZE = 8;
    public const int FUSE_COMPAT_22_INIT_OUT_SIZE = 24;

    // fuse_open_out.open_flags
    public const uint FOPEN_DIRECT_IO = 1 << 0;
    public const uint FOPEN_KEEP_CACHE = 1 << 1;
    public const uint FOPEN_NONSEEKABLE = 1 << 2;
    public const uint FOPEN_CACHE_DIR = 1 << 3;
    public const uint FOPEN_STREAM = 1 << 4;
    public const uint FOPEN_NOFLUSH = 1 << 5;

    // fuse_init_in/out.flags (bits 32..63 travel in flags2 when FUSE_INIT_EXT is set)
    public const ulong FUSE_ASYNC_READ = 1UL << 0;
    public const ulong FUSE_POSIX_LOCKS = 1UL << 1;
    public const ulong FUSE_ATOMIC_O_TRUNC = 1UL << 3;
    public const ulong FUSE_EXPORT_SUPPORT = 1UL << 4;
    public const ulong FUSE_BIG_WRITES = 1UL << 5;
    public const ulong FUSE_DONT_MASK = 1UL << 6;
    public const ulong FUSE_SPLICE_WRITE = 1UL << 7;
    public const ulong FUSE_SPLICE_MOVE = 1UL << 8;
    public const ulong FUSE_SPLICE_READ = 1UL << 9;
    public const ulong FUSE_FLOCK_LOCKS = 1UL << 10;
    public const ulong FUSE_HAS_IOCTL_DIR = 1UL << 11;
    public const ulong FUSE_AUTO_INVAL_DATA = 1UL << 12;
    public const ulong FUSE_DO_READDIRPLUS = 1UL << 13;
    public const ulong FUSE_READDIRPLUS_AUTO = 1UL << 14;
    public const ulong FUSE_ASYNC_DIO = 1UL << 15;
    public const ulong FUSE_WRITEBACK_CACHE = 1UL << 16;
    public const ulong FUSE_NO_OPEN_SUPPORT = 1UL << 17;
    public const ulong FUSE_PARALLEL_DIROPS = 1UL << 18;
    public const ulong FUSE_HANDLE_KILLPRIV = 1UL << 19;
    public const ulong FUSE_POSIX_ACL = 1UL << 20;
    public const ulong FUSE_ABORT_ERROR = 1UL << 21;
    public const ulong FUSE_MAX_PAGES = 1UL << 22;
    public const ulong FUSE_CACHE_SYMLINKS = 1UL << 23;
    public const ulong FUSE_NO_OPENDIR_SUPPORT = 1UL << 24;
    public const ulong FUSE_EXPLICIT_INVAL_DATA = 1UL << 25;
    public const ulong FUSE_MAP_ALIGNMENT = 1UL << 26;
    public const ulong FUSE_SUBMOUNTS = 1UL << 27;
    public const ulong FUSE_HANDLE_KILLPRIV_V2 = 1UL << 28;
    public const ulong FUSE_SETXATTR_EXT = 1UL << 29;
    public const ulong FUSE_INIT_EXT = 1UL << 30;
    public const ulong FUSE_INIT_RESERVED = 1UL << 31;
    public const ulong FUSE_SECURITY_CTX = 1UL << 32;
    public const ulong FUSE_HAS_INODE_DAX = 1UL << 33;
    public const ulong FUSE_HAS_EXPIRE_ONLY = 1UL << 35;

    // fuse_read_in.read_flags, fuse_getattr_in.getattr_flags, fuse_release_in.release_flags
    public const uint FUSE_READ_LOCKOWNER = 1 << 1;
    public const uint FUSE_GETATTR_FH = 1 << 0;
    public const uint FUSE_RELEASE_FLUSH = 1 << 0;
    public const uint FUSE_RELEASE_FLOCK_UNLOCK = 1 << 1;

    // Device ioctls: FUSE_DEV_IOC_CLONE = _IOR(229, 0, uint32_t)
    public const uint FUSE_DEV_IOC_MAGIC = 229;
    /// <summary>_IOR(FUSE_DEV_IOC_MAGIC, 0, uint32_t): dir=2 (read) &lt;&lt; 30 | size 4 &lt;&lt; 16 | magic &lt;&lt; 8 | nr.</summary>
    public const uint FUSE_DEV_IOC_CLONE = (2u << 30) | (4u << 16) | (FUSE_DEV_IOC_MAGIC << 8) | 0;

    /// <summary>offsetof(struct fuse_dirent, name).</summary>
    public const int FUSE_NAME_OFFSET = 24;
    /// <summary>offsetof(struct fuse_direntplus, dirent.name).</summary>
    public const int FUSE_NAME_OFFSET_DIRENTPLUS = 152;

    /// <summary>FUSE_REC_ALIGN / FUSE_DIRENT_ALIGN: variable-length records are 64-bit aligned.</summary>
    public static int FUSE_DIRENT_ALIGN(int x) => (x + sizeof(ulong) - 1) & ~(sizeof(ulong) - 1);
}

/// <summary><c>enum fuse_opcode</c>.</summary>
public enum fuse_opcode : uint
{
    FUSE_LOOKUP = 1,
    FUSE_FORGET = 2,
    FUSE_GETATTR = 3,
    FUSE_SETATTR = 4,
    FUSE_READLINK = 5,
    FUSE_SYMLINK = 6,
    FUSE_MKNOD = 8,
    FUSE_MKDIR = 9,
    FUSE_UNLINK = 10,
    FUSE_RMDIR = 11,
    FUSE_RENAME = 12,
    FUSE_LINK = 13,
    FUSE_OPEN = 14,
    FUSE_READ = 15,
    FUSE_WRITE = 16,
    FUSE_STATFS = 17,
    FUSE_RELEASE = 18,
    FUSE_FSYNC = 20,
    FUSE_SETXATTR = 21,
    FUSE_GETXATTR = 22,
    FUSE_LISTXATTR = 23,
    FUSE_REMOVEXATTR = 24,
    FUSE_FLUSH = 25,
    FUSE_INIT = 26,
    FUSE_OPENDIR = 27,
    FUSE_READDIR = 28,
    FUSE_RELEASEDIR = 29,
    FUSE_FSYNCDIR = 30,
    FUSE_GETLK = 31,
    FUSE_SETLK = 32,
    FUSE_SETLKW = 33,
    FUSE_ACCESS = 34,
    FUSE_CREATE = 35,
    FUSE_INTERRUPT = 36,
    FUSE_BMAP = 37,
    FUSE_DESTROY = 38,
    FUSE_IOCTL = 39,
    FUSE_POLL = 40,
    FUSE_NOTIFY_REPLY = 41,
    FUSE_BATCH_FORGET = 42,
    FUSE_FALLOCATE = 43,
    FUSE_READDIRPLUS = 44,
    FUSE_RENAME2 = 45,
    FUSE_LSEEK = 46,
    FUSE_COPY_FILE_RANGE = 47,
    FUSE_SETUPMAPPING = 48,
    FUSE_REMOVEMAPPING = 49,
    FUSE_SYNCFS = 50,
    FUSE_TMPFILE = 51,
}

/// <summary><c>struct fuse_attr</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
public unsafe struct fuse_attr
{
    [FieldOffset(0)] public ulong ino;
    [FieldOffset(8)] public ulong size;
    [FieldOffset(16)] public ulong blocks;
    [FieldOffset(24)] public ulong atime;
    [FieldOffset(32)] public ulong mtime;
    [FieldOffset(40)] public ulong ctime;
    [FieldOffset(48)] public uint atimensec;
    [FieldOffset(52)] public uint mtimensec;
    [FieldOffset(56)] public uint ctimensec;
    [FieldOffset(60)] public uint mode;
    [FieldOffset(64)] public uint nlink;
    [FieldOffset(68)] public uint uid;
    [FieldOffset(72)] public uint gid;
    [FieldOffset(76)] public uint rdev;
    [FieldOffset(80)] public uint blksize;
    [FieldOffset(84)] public uint flags;
}

/// <summary><c>struct fuse_kstatfs</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
public unsafe struct fuse_kstatfs
{
    [FieldOffset(0)] public ulong blocks;
    [FieldOffset(8)] public ulong bfree;
    [FieldOffset(16)] public ulong bavail;
    [FieldOffset(24)] public ulong files;
    [FieldOffset(32)] public ulong ffree;
    [FieldOffset(40)] public uint bsize;
    [FieldOffset(44)] public uint namelen;
    [FieldOffset(48)] public uint frsize;
    [FieldOffset(52)] public uint padding;
    [FieldOffset(56)] public fixed uint spare[6];
}

/// <summary><c>struct fuse_entry_out</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
public unsafe struct fuse_entry_out
{
    [FieldOffset(0)] public ulong nodeid;
    [FieldOffset(8)] public ulong generation;
    [FieldOffset(16)] public ulong entry_valid;
    [FieldOffset(24)] public ulong attr_valid;
    [FieldOffset(32)] public uint entry_valid_nsec;
    [FieldOffset(36)] public uint attr_valid_nsec;
    [FieldOffset(40)] public fuse_attr attr;
}

/// <summary><c>struct fuse_forget_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_forget_in
{
    [FieldOffset(0)] public ulong nlookup;
}

/// <summary><c>struct fuse_forget_one</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_forget_one
{
    [FieldOffset(0)] public ulong nodeid;
    [FieldOffset(8)] public ulong nlookup;
}

/// <summary><c>struct fuse_batch_forget_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_batch_forget_in
{
    [FieldOffset(0)] public uint count;
    [FieldOffset(4)] public uint dummy;
}

/// <summary><c>struct fuse_getattr_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_getattr_in
{
    [FieldOffset(0)] public uint getattr_flags;
    [FieldOffset(4)] public uint dummy;
    [FieldOffset(8)] public ulong fh;
}

/// <summary><c>struct fuse_attr_out</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 104)]
public unsafe struct fuse_attr_out
{
    [FieldOffset(0)] public ulong attr_valid;
    [FieldOffset(8)] public uint attr_valid_nsec;
    [FieldOffset(12)] public uint dummy;
    [FieldOffset(16)] public fuse_attr attr;
}

/// <summary><c>struct fuse_open_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_open_in
{
    [FieldOffset(0)] public uint flags;
    [FieldOffset(4)] public uint open_flags;
}

/// <summary><c>struct fuse_open_out</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_open_out
{
    [FieldOffset(0)] public ulong fh;
    [FieldOffset(8)] public uint open_flags;
    [FieldOffset(12)] public uint padding;
}

/// <summary><c>struct fuse_release_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public unsafe struct fuse_release_in
{
    [FieldOffset(0)] public ulong fh;
    [FieldOffset(8)] public uint flags;
    [FieldOffset(12)] public uint release_flags;
    [FieldOffset(16)] public ulong lock_owner;
}

/// <summary><c>struct fuse_read_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct fuse_read_in
{
    [FieldOffset(0)] public ulong fh;
    [FieldOffset(8)] public ulong offset;
    [FieldOffset(16)] public uint size;
    [FieldOffset(20)] public uint read_flags;
    [FieldOffset(24)] public ulong lock_owner;
    [FieldOffset(32)] public uint flags;
    [FieldOffset(36)] public uint padding;
}

/// <summary><c>struct fuse_statfs_out</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
public unsafe struct fuse_statfs_out
{
    [FieldOffset(0)] public fuse_kstatfs st;
}

/// <summary><c>struct fuse_getxattr_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_getxattr_in
{
    [FieldOffset(0)] public uint size;
    [FieldOffset(4)] public uint padding;
}

/// <summary><c>struct fuse_getxattr_out</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_getxattr_out
{
    [FieldOffset(0)] public uint size;
    [FieldOffset(4)] public uint padding;
}

/// <summary><c>struct fuse_access_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_access_in
{
    [FieldOffset(0)] public uint mask;
    [FieldOffset(4)] public uint padding;
}

/// <summary><c>struct fuse_init_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public unsafe struct fuse_init_in
{
    [FieldOffset(0)] public uint major;
    [FieldOffset(4)] public uint minor;
    [FieldOffset(8)] public uint max_readahead;
    [FieldOffset(12)] public uint flags;
    [FieldOffset(16)] public uint flags2;
    [FieldOffset(20)] public fixed uint unused[11];
}

/// <summary><c>struct fuse_init_out</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
public unsafe struct fuse_init_out
{
    [FieldOffset(0)] public uint major;
    [FieldOffset(4)] public uint minor;
    [FieldOffset(8)] public uint max_readahead;
    [FieldOffset(12)] public uint flags;
    [FieldOffset(16)] public ushort max_background;
    [FieldOffset(18)] public ushort congestion_threshold;
    [FieldOffset(20)] public uint max_write;
    [FieldOffset(24)] public uint time_gran;
    [FieldOffset(28)] public ushort max_pages;
    [FieldOffset(30)] public ushort map_alignment;
    [FieldOffset(32)] public uint flags2;
    [FieldOffset(36)] public fixed uint unused[7];
}

/// <summary><c>struct fuse_interrupt_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_interrupt_in
{
    [FieldOffset(0)] public ulong unique;
}

/// <summary><c>struct fuse_in_header</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct fuse_in_header
{
    [FieldOffset(0)] public uint len;
    [FieldOffset(4)] public uint opcode;
    [FieldOffset(8)] public ulong unique;
    [FieldOffset(16)] public ulong nodeid;
    [FieldOffset(24)] public uint uid;
    [FieldOffset(28)] public uint gid;
    [FieldOffset(32)] public uint pid;
    [FieldOffset(36)] public ushort total_extlen;
    [FieldOffset(38)] public ushort padding;
}

/// <summary><c>struct fuse_out_header</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_out_header
{
    [FieldOffset(0)] public uint len;
    [FieldOffset(4)] public int error;
    [FieldOffset(8)] public ulong unique;
}

/// <summary><c>struct fuse_dirent</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public unsafe struct fuse_dirent
{
    [FieldOffset(0)] public ulong ino;
    [FieldOffset(8)] public ulong off;
    [FieldOffset(16)] public uint namelen;
    [FieldOffset(20)] public uint type;
    // name[] follows at offset 24 (flexible array member)
}

/// <summary><c>struct fuse_direntplus</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 152)]
public unsafe struct fuse_direntplus
{
    [FieldOffset(0)] public fuse_entry_out entry_out;
    [FieldOffset(128)] public fuse_dirent dirent;
}
