using System.Runtime.InteropServices;

// The write side of <linux/fuse.h>: request and reply structs of the opcodes that change a
// filesystem. Same rules as FuseKernel.cs (C names, explicit layouts, checked against the header by
// FuseKernelTests, which picks up every fuse_* struct of this namespace).
#pragma warning disable IDE1006 // C names

namespace FlatImage.Native.Fuse;

public static partial class FuseKernel
{
    // fuse_setattr_in.valid
    public const uint FATTR_MODE = 1 << 0;
    public const uint FATTR_UID = 1 << 1;
    public const uint FATTR_GID = 1 << 2;
    public const uint FATTR_SIZE = 1 << 3;
    public const uint FATTR_ATIME = 1 << 4;
    public const uint FATTR_MTIME = 1 << 5;
    public const uint FATTR_FH = 1 << 6;
    public const uint FATTR_ATIME_NOW = 1 << 7;
    public const uint FATTR_MTIME_NOW = 1 << 8;
    public const uint FATTR_LOCKOWNER = 1 << 9;
    public const uint FATTR_CTIME = 1 << 10;
    public const uint FATTR_KILL_SUIDGID = 1 << 11;

    // fuse_fsync_in.fsync_flags
    public const uint FUSE_FSYNC_FDATASYNC = 1 << 0;

    /// <summary>fuse_setxattr_in without FUSE_SETXATTR_EXT (which we never ask for): size and flags only.</summary>
    public const int FUSE_COMPAT_SETXATTR_IN_SIZE = 8;

    /// <summary>enum fuse_notify_code: a message from the server, sent with unique 0 and this code as the error.</summary>
    public const int FUSE_NOTIFY_INVAL_ENTRY = 3;
}

/// <summary><c>struct fuse_notify_inval_entry_out</c>, followed by the name and a NUL.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_notify_inval_entry_out
{
    [FieldOffset(0)] public ulong parent;
    [FieldOffset(8)] public uint namelen;
    [FieldOffset(12)] public uint flags;
}

/// <summary><c>struct fuse_setattr_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
public unsafe struct fuse_setattr_in
{
    [FieldOffset(0)] public uint valid;
    [FieldOffset(4)] public uint padding;
    [FieldOffset(8)] public ulong fh;
    [FieldOffset(16)] public ulong size;
    [FieldOffset(24)] public ulong lock_owner;
    [FieldOffset(32)] public ulong atime;
    [FieldOffset(40)] public ulong mtime;
    [FieldOffset(48)] public ulong ctime;
    [FieldOffset(56)] public uint atimensec;
    [FieldOffset(60)] public uint mtimensec;
    [FieldOffset(64)] public uint ctimensec;
    [FieldOffset(68)] public uint mode;
    [FieldOffset(72)] public uint unused4;
    [FieldOffset(76)] public uint uid;
    [FieldOffset(80)] public uint gid;
    [FieldOffset(84)] public uint unused5;
}

/// <summary><c>struct fuse_mknod_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_mknod_in
{
    [FieldOffset(0)] public uint mode;
    [FieldOffset(4)] public uint rdev;
    [FieldOffset(8)] public uint umask;
    [FieldOffset(12)] public uint padding;
}

/// <summary><c>struct fuse_mkdir_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_mkdir_in
{
    [FieldOffset(0)] public uint mode;
    [FieldOffset(4)] public uint umask;
}

/// <summary><c>struct fuse_rename_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_rename_in
{
    [FieldOffset(0)] public ulong newdir;
}

/// <summary><c>struct fuse_rename2_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_rename2_in
{
    [FieldOffset(0)] public ulong newdir;
    [FieldOffset(8)] public uint flags;
    [FieldOffset(12)] public uint padding;
}

/// <summary><c>struct fuse_link_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_link_in
{
    [FieldOffset(0)] public ulong oldnodeid;
}

/// <summary><c>struct fuse_create_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_create_in
{
    [FieldOffset(0)] public uint flags;
    [FieldOffset(4)] public uint mode;
    [FieldOffset(8)] public uint umask;
    [FieldOffset(12)] public uint open_flags;
}

/// <summary><c>struct fuse_write_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
public unsafe struct fuse_write_in
{
    [FieldOffset(0)] public ulong fh;
    [FieldOffset(8)] public ulong offset;
    [FieldOffset(16)] public uint size;
    [FieldOffset(20)] public uint write_flags;
    [FieldOffset(24)] public ulong lock_owner;
    [FieldOffset(32)] public uint flags;
    [FieldOffset(36)] public uint padding;
}

/// <summary><c>struct fuse_write_out</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_write_out
{
    [FieldOffset(0)] public uint size;
    [FieldOffset(4)] public uint padding;
}

/// <summary><c>struct fuse_fsync_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_fsync_in
{
    [FieldOffset(0)] public ulong fh;
    [FieldOffset(8)] public uint fsync_flags;
    [FieldOffset(12)] public uint padding;
}

/// <summary><c>struct fuse_flush_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public unsafe struct fuse_flush_in
{
    [FieldOffset(0)] public ulong fh;
    [FieldOffset(8)] public uint unused;
    [FieldOffset(12)] public uint padding;
    [FieldOffset(16)] public ulong lock_owner;
}

/// <summary><c>struct fuse_fallocate_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public unsafe struct fuse_fallocate_in
{
    [FieldOffset(0)] public ulong fh;
    [FieldOffset(8)] public ulong offset;
    [FieldOffset(16)] public ulong length;
    [FieldOffset(24)] public uint mode;
    [FieldOffset(28)] public uint padding;
}

/// <summary><c>struct fuse_setxattr_in</c> (the first 8 bytes unless FUSE_SETXATTR_EXT was negotiated).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public unsafe struct fuse_setxattr_in
{
    [FieldOffset(0)] public uint size;
    [FieldOffset(4)] public uint flags;
    [FieldOffset(8)] public uint setxattr_flags;
    [FieldOffset(12)] public uint padding;
}

/// <summary><c>struct fuse_lseek_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
public unsafe struct fuse_lseek_in
{
    [FieldOffset(0)] public ulong fh;
    [FieldOffset(8)] public ulong offset;
    [FieldOffset(16)] public uint whence;
    [FieldOffset(20)] public uint padding;
}

/// <summary><c>struct fuse_lseek_out</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public unsafe struct fuse_lseek_out
{
    [FieldOffset(0)] public ulong offset;
}

/// <summary><c>struct fuse_copy_file_range_in</c>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 56)]
public unsafe struct fuse_copy_file_range_in
{
    [FieldOffset(0)] public ulong fh_in;
    [FieldOffset(8)] public ulong off_in;
    [FieldOffset(16)] public ulong nodeid_out;
    [FieldOffset(24)] public ulong fh_out;
    [FieldOffset(32)] public ulong off_out;
    [FieldOffset(40)] public ulong len;
    [FieldOffset(48)] public ulong flags;
}
