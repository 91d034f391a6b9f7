using FlatImage.Native.Interop;

namespace FlatImage.Native.Fuse;

/// <summary>
/// The write side of <see cref="IFuseFileSystem"/>: one method per opcode that changes the filesystem.
/// Every method defaults to ENOSYS, so a read-only filesystem implements none of them (mounted
/// read-only, the kernel refuses writes with EROFS before asking). The same rules hold as for the
/// read side; names are raw bytes without the NUL. ENOSYS has a special meaning for some (as in
/// libfuse's fuse_lowlevel.h): from FLUSH, FSYNC and FSYNCDIR the kernel takes it as "success from
/// now on", from CREATE it falls back to MKNOD + OPEN, from COPY_FILE_RANGE and LSEEK it uses its
/// generic code, from FALLOCATE it returns EOPNOTSUPP.
/// </summary>
public partial interface IFuseFileSystem
{
    /// <summary>Changes the attributes named by <c>arg.valid</c> (FATTR_*). Valid replies: <see cref="FuseReply.Attr"/>, error.</summary>
    int SetAttr(in fuse_in_header header, in fuse_setattr_in arg, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Creates a regular file, fifo, socket or device node. Valid replies: entry (one lookup reference), error.</summary>
    int MkNod(in fuse_in_header header, in fuse_mknod_in arg, ReadOnlySpan<byte> name, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Valid replies: entry (one lookup reference), error.</summary>
    int MkDir(in fuse_in_header header, in fuse_mkdir_in arg, ReadOnlySpan<byte> name, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Creates symlink <paramref name="name"/> pointing at <paramref name="target"/>. Valid replies: entry, error.</summary>
    int Symlink(in fuse_in_header header, ReadOnlySpan<byte> name, ReadOnlySpan<byte> target, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Hard link of <c>arg.oldnodeid</c> as <paramref name="name"/> in <c>header.nodeid</c>. Valid replies: entry, error.</summary>
    int Link(in fuse_in_header header, in fuse_link_in arg, ReadOnlySpan<byte> name, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Valid replies: empty, error.</summary>
    int Unlink(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Valid replies: empty, error (ENOTEMPTY).</summary>
    int RmDir(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>
    /// RENAME and RENAME2: <paramref name="name"/> in <c>header.nodeid</c> becomes <paramref name="newName"/>
    /// in <paramref name="newParent"/>; <paramref name="flags"/> are renameat2's (0 for RENAME).
    /// Valid replies: empty, error.
    /// </summary>
    int Rename(in fuse_in_header header, ulong newParent, uint flags, ReadOnlySpan<byte> name, ReadOnlySpan<byte> newName, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>
    /// Creates and opens a file in one step. Valid replies: <see cref="FuseReply.Create"/> (entry and
    /// open handle; one lookup reference), error. ENOSYS: the kernel uses MKNOD + OPEN from now on.
    /// </summary>
    int Create(in fuse_in_header header, in fuse_create_in arg, ReadOnlySpan<byte> name, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Writes <paramref name="data"/> at <c>arg.offset</c> of handle <c>arg.fh</c>. Valid replies: <see cref="FuseReply.Written"/>, error.</summary>
    int Write(in fuse_in_header header, in fuse_write_in arg, ReadOnlySpan<byte> data, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Called on every close(2) of a handle. Valid replies: empty, error (returned by close).</summary>
    int Flush(in fuse_in_header header, in fuse_flush_in arg, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Valid replies: empty, error.</summary>
    int Fsync(in fuse_in_header header, in fuse_fsync_in arg, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Valid replies: empty, error.</summary>
    int FsyncDir(in fuse_in_header header, in fuse_fsync_in arg, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Valid replies: empty, error.</summary>
    int Fallocate(in fuse_in_header header, in fuse_fallocate_in arg, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Valid replies: empty, error.</summary>
    int SetXattr(in fuse_in_header header, uint flags, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Valid replies: empty, error (ENODATA when absent).</summary>
    int RemoveXattr(in fuse_in_header header, ReadOnlySpan<byte> name, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>SEEK_DATA / SEEK_HOLE. Valid replies: <see cref="FuseReply.Lseek"/>, error.</summary>
    int Lseek(in fuse_in_header header, in fuse_lseek_in arg, ref FuseReply reply) => Errno.ENOSYS;

    /// <summary>Copies a range between two open handles in the filesystem. Valid replies: <see cref="FuseReply.Written"/>, error.</summary>
    int CopyFileRange(in fuse_in_header header, in fuse_copy_file_range_in arg, ref FuseReply reply) => Errno.ENOSYS;
}
