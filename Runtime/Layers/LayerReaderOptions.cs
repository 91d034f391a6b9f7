namespace FlatImage.Runtime.Layers;

/// <summary>Tuning for <see cref="LayerReader"/>.</summary>
public sealed record LayerReaderOptions
{
    /// <summary>
    /// Upper bound for the decompressed-block cache, in bytes. The default holds 8 blocks of the
    /// default 16 MiB: a few readers can stream different parts of the layer without
    /// decompressing a block again for every small read. Hot file data also stays in the
    /// kernel's page cache (the FUSE server keeps it with FOPEN_KEEP_CACHE).
    /// </summary>
    public long CacheBytes { get; init; } = 128L * 1024 * 1024;
}
