using System.Diagnostics;
using FlatImage.Runtime.Layers;

// Usage:
//   LayerBench create <source-dir> <out-file> [level 0-9] [block size bytes] [zstd level|-] [ldm]
//   LayerBench randread <layer> <reads> <read size>   (random reads through a cold reader)
//   LayerBench codec <layer> [rounds] [zstd level]    (libzstd vs ZstdSharp on the layer's blocks)
// Prints one line of key=value pairs for bench/layers.sh and bench/zstd.sh.
if (args.Length >= 3 && args[0] == "create")
{
    var options = new LayerWriterOptions();
    if (args.Length > 3)
        options = options with { CompressionLevel = int.Parse(args[3]) };
    if (args.Length > 4)
        options = options with { BlockSize = int.Parse(args[4]) };
    if (args.Length > 5 && args[5] != "-")
        options = options with { ZstdLevel = int.Parse(args[5]) };
    if (args.Length > 6)
        options = options with { LongDistanceMatching = args[6] == "ldm" };
    var clock = Stopwatch.StartNew();
    var result = LayerWriter.Create(args[1], args[2], options);
    Console.WriteLine($"seconds={clock.Elapsed.TotalSeconds:F3} bytes={result.LayerBytes} inodes={result.Inodes} unique={result.UniqueFiles} duplicates={result.DuplicateFiles} input={result.InputBytes} stream={result.StoredDataBytes} blocks={result.BlockCount}");
    return 0;
}
if (args.Length >= 4 && args[0] == "randread")
{
    int reads = int.Parse(args[2]);
    int size = int.Parse(args[3]);
    var clock = Stopwatch.StartNew();
    using var reader = LayerReader.Open(args[1], 0, -1, new LayerReaderOptions { CacheBytes = 0 });
    double open = clock.Elapsed.TotalMilliseconds;
    var files = new List<(ulong Ino, long Size)>();
    var pending = new Stack<ulong>();
    pending.Push(LayerReader.RootInode);
    while (pending.Count > 0)
    {
        reader.ReadDirectory(pending.Pop(), 0, (long _, ReadOnlySpan<byte> _, ulong ino, in LayerInode inode) =>
        {
            if (inode.Type == LayerFileType.Directory)
                pending.Push(ino);
            else if (inode.Type == LayerFileType.Regular && inode.Size > 0)
                files.Add((ino, inode.Size));
            return true;
        });
    }
    var random = new Random(1);
    var buffer = new byte[size];
    clock.Restart();
    for (int i = 0; i < reads; i++)
    {
        var (ino, fileSize) = files[random.Next(files.Count)];
        if (reader.Read(ino, random.NextInt64(fileSize), buffer, out _) != 0)
            throw new InvalidOperationException("read failed");
    }
    Console.WriteLine($"open_ms={open:F1} reads={reads} us_per_read={clock.Elapsed.TotalMicroseconds / reads:F1}");
    return 0;
}
if (args.Length >= 2 && args[0] == "codec")
    return Codec.Run(args[1], args.Length > 2 ? int.Parse(args[2]) : 3,
        args.Length > 3 ? int.Parse(args[3]) : LayerWriterOptions.ZstdLevelFor(new LayerWriterOptions().CompressionLevel));
Console.Error.WriteLine("usage: LayerBench create <dir> <out> [level] [block] | randread <layer> <reads> <size> | codec <layer> [rounds] [zstd level]");
return 2;
