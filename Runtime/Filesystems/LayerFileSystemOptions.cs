namespace FlatImage.Runtime.Filesystems;

/// <summary>How a <see cref="LayerFileSystem"/> presents its layer.</summary>
public sealed record LayerFileSystemOptions
{
    /// <summary>
    /// When set, every file is presented as owned by this uid instead of the owner the layer
    /// records. Null (the default) presents the real owners.
    /// </summary>
    public uint? OwnerUid { get; init; }

    /// <summary>As <see cref="OwnerUid"/>, for the group.</summary>
    public uint? OwnerGid { get; init; }

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
