using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Filesystems;

/// <summary>How a layer inode is presented to the kernel, the same by every layer filesystem.</summary>
internal static class LayerAttributes
{
    private const uint StatBlockSize = 512;          // st_blocks unit
    private const uint PreferredIoSize = 128 * 1024; // st_blksize: cp/cat read this much per call

    /// <summary>
    /// The attributes of <paramref name="n"/> served as inode <paramref name="ino"/>: atime and ctime
    /// are the mtime (a layer records one time), rdev in the kernel's 32-bit encoding
    /// (new_encode_dev), and the owner replaced when <paramref name="uid"/>/<paramref name="gid"/>
    /// are set (<see cref="LayerFileSystemOptions.PresentOwner"/>). Whiteouts are char devices 0/0
    /// with mode 0 in the layer already.
    /// </summary>
    public static void Fill(in LayerInode n, ulong ino, uint? uid, uint? gid, out fuse_attr a)
    {
        a = default;
        a.ino = ino;
        a.size = (ulong)n.Size;
        a.blocks = ((ulong)n.Size + StatBlockSize - 1) / StatBlockSize;
        a.atime = a.mtime = a.ctime = (ulong)n.MtimeSeconds;
        a.atimensec = a.mtimensec = a.ctimensec = n.MtimeNanoseconds;
        a.mode = n.Mode;
        a.nlink = n.Nlink;
        a.uid = uid ?? n.Uid;
        a.gid = gid ?? n.Gid;
        uint major = Stat.major(n.Rdev), minor = Stat.minor(n.Rdev);
        a.rdev = (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
        a.blksize = PreferredIoSize;
    }
}
