namespace FlatImage.Runtime.Layers;

/// <summary>
/// One inode as the reader presents it. <paramref name="Mode"/> is the full st_mode including
/// the type bits; <paramref name="Rdev"/> is a glibc dev_t (makedev encoding) for devices;
/// <paramref name="Opaque"/> marks a directory that hides everything below it (overlayfs
/// "trusted.overlay.opaque").
/// </summary>
public readonly record struct LayerInode(
    ulong Ino, LayerFileType Type, uint Mode, uint Uid, uint Gid, long Size,
    long MtimeSeconds, uint MtimeNanoseconds, uint Nlink, ulong Rdev, bool Opaque);
