namespace FlatImage.Runtime.Layers;

/// <summary>How a layer is built.</summary>
public sealed record LayerWriterOptions
{
    /// <summary>FIM_COMPRESSION_LEVEL: 0 (fastest) to 9 (smallest); see <see cref="ZstdLevelFor"/>.</summary>
    public int CompressionLevel { get; init; } = 7;

    /// <summary>
    /// Uncompressed block size, a power of two between 64 KiB and 16 MiB. Larger blocks compress
    /// better (zstd cannot match across blocks), smaller ones make a cold random read decompress
    /// less. Every run mounts anew, so every run pays the cold reads of the files it starts with:
    /// the default is 1 MiB. On the Debian image's tree that layer is 0.91 × `mksquashfs -comp
    /// zstd -b 1M` of it (16 MiB blocks: 0.82), and a cold 4 KiB read decompresses a sixteenth of
    /// what it did (bench/results/start.md).
    /// </summary>
    public int BlockSize { get; init; } = 1024 * 1024;

    /// <summary>
    /// The files a boot reads, placed first in the layer (docs/layers.md "Start profile"); null or
    /// empty for none. The layer is then byte for byte what it is without this option.
    /// </summary>
    public StartProfile? StartProfile { get; init; }

    /// <summary>
    /// Block size of the start profile region, a power of two from 4 KiB to <see cref="BlockSize"/>.
    /// A boot's cold read of a file then decompresses that much around it instead of a whole
    /// block, and the region's blocks are decompressed ahead at mount. The small blocks compress
    /// worse: on the Debian image's tree the region of a shell's start (2.3 MB) made the layer
    /// 0.6% larger, still 0.92 × `mksquashfs -comp zstd -b 1M` (bench/results/profile.md).
    /// </summary>
    public int ProfileBlockSize { get; init; } = 64 * 1024;

    /// <summary>Overrides the zstd level that <see cref="CompressionLevel"/> maps to (for benchmarks).</summary>
    public int? ZstdLevel { get; init; }

    /// <summary>zstd long-distance matching inside each block; pays off only for large blocks.</summary>
    public bool LongDistanceMatching { get; init; }

    /// <summary>Compression threads; 0 means one per processor.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Maps FIM_COMPRESSION_LEVEL to a zstd level. Chosen by measuring 16 MiB blocks of a Debian
    /// minbase tree (bench/results/layers.md): up to zstd 11 each step buys ratio cheaply; from
    /// 12 on (lazy2/btlazy2 and the optimal parsers) time grows 2-10x for under 1% of size, so
    /// only 8 and 9 go there. 19 is the top because the --ultra levels want windows larger
    /// than a block.
    /// </summary>
    public static int ZstdLevelFor(int compressionLevel) => compressionLevel switch
    {
        <= 0 => 1,
        1 => 3,
        2 => 4,
        3 => 5,
        4 => 7,
        5 => 9,
        6 => 10,
        7 => 11,
        8 => 15,
        _ => 19,
    };

    /// <summary>Reads FIM_COMPRESSION_LEVEL (docs/cli.md §7): 0–9, larger values clamp to 9; an unset or unparsable value keeps the default.</summary>
    public static LayerWriterOptions FromEnvironment()
    {
        var options = new LayerWriterOptions();
        string? value = Environment.GetEnvironmentVariable("FIM_COMPRESSION_LEVEL");
        if (long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long level))
            options = options with { CompressionLevel = (int)Math.Min(level, 9) };
        return options;
    }
}
