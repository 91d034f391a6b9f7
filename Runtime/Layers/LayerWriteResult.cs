namespace FlatImage.Runtime.Layers;

/// <summary>
/// What a layer build produced. <paramref name="SkippedPaths"/> lists what was left out
/// (directories the user cannot enter, files that vanished or cannot be read, sockets),
/// so the CLI can warn about them.
/// </summary>
public sealed record LayerWriteResult(
    long LayerBytes, long Inodes, long UniqueFiles, long DuplicateFiles, long InputBytes,
    long StoredDataBytes, long BlockCount, IReadOnlyList<string> SkippedPaths)
{
    /// <summary>Bytes of the start profile region (the profiled files' contents); 0 without one.</summary>
    public long ProfileBytes { get; init; }
}
