namespace FlatImage.Runtime.Layers;

/// <summary>
/// Counts for statfs and for `fim-layer` output. <paramref name="TotalFileBytes"/> is the sum of
/// regular file sizes (hard links counted once); <paramref name="StoredDataBytes"/> is the
/// deduplicated, uncompressed data stream.
/// </summary>
public readonly record struct LayerStatistics(
    ulong Inodes, long Files, long Directories, long Symlinks, long OtherInodes,
    long TotalFileBytes, long StoredDataBytes, long BlockCount, int BlockSize, long LayerBytes);
