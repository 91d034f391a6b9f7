namespace FlatImage.Runtime.Layers;

/// <summary>Tuning for <see cref="LayerReader"/>.</summary>
public sealed record LayerReaderOptions
{
    /// <summary>
    /// Upper bound for the decompressed-block cache, in bytes. The default holds 64 blocks of
    /// the default size: enough for several readers streaming different files at once.
    /// </summary>
    public long CacheBytes { get; init; } = 64L * 1024 * 1024;
}
