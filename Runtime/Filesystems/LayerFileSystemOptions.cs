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
    /// Answer every open of a file with a check of all the blocks that hold it (each block once
    /// per mount, <see cref="LayerReader.VerifyFile"/>): EIO when one is damaged, else an open that
    /// keeps the page cache. For the mount a FUSE overlay daemon (fuse-overlayfs, unionfs-fuse)
    /// reads from. A read that meets a damaged block after readable pages returns those pages as a
    /// short count (the page cache serves them; fuse-overlayfs splices, which goes through the page
    /// cache even with direct I/O); libfuse passes a short count on as a short reply, and the
    /// kernel client of the daemon's mount takes that as the end of the data and fills the rest
    /// with zeros — the damage read as zeros with exit status 0. Refusing the open is the one
    /// answer a daemon cannot turn into a short read. Not for bwrap's kernel overlay: it reads our
    /// files itself and hands a short count to the program, whose next read gets the EIO, so its
    /// opens stay zero-message.
    /// </summary>
    public bool VerifyOnOpen { get; init; }

    /// <summary>Real owners, as recorded in the layer: what a root mount shows.</summary>
    public static LayerFileSystemOptions RealOwners { get; } = new();

    /// <summary>
    /// Every file owned by <paramref name="uid"/>:<paramref name="gid"/>. For unprivileged runs
    /// (docs/architecture.md, "Mounts are in-process FUSE servers"): bwrap's user namespace maps only the
    /// caller's uid, so a root-owned file would show up as `nobody` and `fim-root` could not
    /// write to it through the overlay. The layer itself keeps the real owners.
    /// </summary>
    public static LayerFileSystemOptions PresentOwner(uint uid, uint gid) => new() { OwnerUid = uid, OwnerGid = gid };
}
