namespace FlatImage.Runtime.Filesystems;

/// <summary>How a <see cref="LayerFileSystem"/> or a <see cref="MergedFileSystem"/> presents its layers.</summary>
public sealed record LayerFileSystemOptions
{
    /// <summary>
    /// When set, every file is presented as owned by this uid instead of the owner the layer
    /// records. Null (the default) presents the real owners.
    /// </summary>
    public uint? OwnerUid { get; init; }

    /// <summary>As <see cref="OwnerUid"/>, for the group.</summary>
    public uint? OwnerGid { get; init; }

    /// <summary>
    /// Open files with FOPEN_DIRECT_IO (no page cache on this mount) instead of zero-message opens.
    /// For the mount a FUSE overlay daemon (fuse-overlayfs, unionfs-fuse) reads from. Through the
    /// page cache, a read that meets a corrupt block after some cached pages returns those pages
    /// as a short count; libfuse passes a short count on as a short reply (fuse_buf_copy stops at
    /// the first short read), and the kernel client of the daemon's mount takes a short reply as
    /// the end of the data and fills the rest of its pages with zeros — a damaged range read as
    /// zeros with exit status 0. Direct I/O sends each read of the daemon to us as one request
    /// (up to max_read, above what the daemons ask for), which fails whole with EIO. The daemon's
    /// own mount still caches pages, so nothing is cached twice either. Not for bwrap's kernel
    /// overlay: it reads our files itself and passes a short count on to the program, whose next
    /// read gets the EIO.
    /// </summary>
    public bool DirectIo { get; init; }

    /// <summary>Real owners, as recorded in the layer: what a root mount shows.</summary>
    public static LayerFileSystemOptions RealOwners { get; } = new();

    /// <summary>
    /// Every file owned by <paramref name="uid"/>:<paramref name="gid"/>. For unprivileged runs
    /// (design.md, "Mounts are in-process FUSE servers"): bwrap's user namespace maps only the
    /// caller's uid, so a root-owned file would show up as `nobody` and `fim-root` could not
    /// write to it through the overlay. The layer itself keeps the real owners.
    /// </summary>
    public static LayerFileSystemOptions PresentOwner(uint uid, uint gid) => new() { OwnerUid = uid, OwnerGid = gid };
}
