namespace FlatImage.Runtime.Layers;

/// <summary>How a layer is built.</summary>
public sealed record LayerWriterOptions
{
    /// <summary>FIM_COMPRESSION_LEVEL: 0 (fastest) to 9 (smallest); see <see cref="ZstdLevelFor"/>.</summary>
    public int CompressionLevel { get; init; } = 7;

    /// <summary>
    /// Uncompressed block size, a power of two between 64 KiB and 16 MiB. Larger blocks compress
    /// better, smaller ones make a random read decompress less; see bench/results/layers.md.
    /// </summary>
    public int BlockSize { get; init; } = 1024 * 1024;

    /// <summary>Overrides the zstd level that <see cref="CompressionLevel"/> maps to (for benchmarks).</summary>
    public int? ZstdLevel { get; init; }

    /// <summary>zstd long-distance matching inside each block; pays off only for large blocks.</summary>
    public bool LongDistanceMatching { get; init; }

    /// <summary>Compression threads; 0 means one per processor.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Maps FIM_COMPRESSION_LEVEL to a zstd level. Chosen by measuring on a Debian minbase
    /// tree (bench/results/layers.md): the low end trades ratio for speed quickly, the high end
    /// stops at 19 because zstd's --ultra levels need windows far larger than a block.
    /// </summary>
    public static int ZstdLevelFor(int compressionLevel) => compressionLevel switch
    {
        <= 0 => 1,
        1 => 3,
        2 => 5,
        3 => 7,
        4 => 9,
        5 => 12,
        6 => 15,
        7 => 17,
        8 => 18,
        _ => 19,
    };

    /// <summary>Reads FIM_COMPRESSION_LEVEL; an unset or unparsable value keeps the default.</summary>
    public static LayerWriterOptions FromEnvironment()
    {
        var options = new LayerWriterOptions();
        string? value = Environment.GetEnvironmentVariable("FIM_COMPRESSION_LEVEL");
        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int level) && level <= 9)
            options = options with { CompressionLevel = level };
        return options;
    }
}
