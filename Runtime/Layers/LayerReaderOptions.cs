namespace FlatImage.Runtime.Layers;

/// <summary>Tuning for <see cref="LayerReader"/>.</summary>
public sealed record LayerReaderOptions
{
    /// <summary>
    /// Upper bound for the decompressed-block cache, in bytes. The default holds 16 blocks of the
    /// default 1 MiB: a few readers can stream different parts of the layer without
    /// decompressing a block again for every small read. Hot file data also stays in the
    /// kernel's page cache (the FUSE server keeps it with FOPEN_KEEP_CACHE), so a larger cache
    /// mostly costs the launcher's memory (bench/results/start.md).
    /// </summary>
    public long CacheBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// Upper bound for the start profile region's own cache (small blocks, small buffers), and so
    /// for what is decompressed ahead at mount: the region's first blocks up to this many bytes.
    /// A shell's start reads 2-3 MiB, Python's about 10 (bench/results/profile.md).
    /// </summary>
    public long ProfileCacheBytes { get; init; } = 16L * 1024 * 1024;
}
