namespace FlatImage.Runtime.Layers;

/// <summary>
/// What a layer build produced. <paramref name="SkippedPaths"/> lists what was left out
/// (directories the user cannot enter, files that vanished or cannot be read, sockets),
/// so the CLI can warn about them.
/// </summary>
public sealed record LayerWriteResult(
    long LayerBytes, long Inodes, long UniqueFiles, long DuplicateFiles, long InputBytes,
    long StoredDataBytes, long BlockCount, IReadOnlyList<string> SkippedPaths);
