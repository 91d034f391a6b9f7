using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Hashing;
using FlatImage.Native.Compression;
using FlatImage.Runtime.Layers;

/// <summary>
/// libzstd (the launcher's) against ZstdSharp (the managed port it replaced) on the compressed
/// blocks of one layer, in one process, one thread, alternating round by round so both see the
/// same machine. Decompression: every zstd block of the layer, output checked to be the same.
/// Compression: those blocks' contents again, with the writer's parameters (level, window =
/// block size, no long-distance matching), sizes summed.
/// </summary>
internal static class Codec
{
    public static int Run(string layerPath, int rounds, int level)
    {
        byte[] file = File.ReadAllBytes(layerPath);
        if (LayerHeader.Check(file, out var header) is { } bad)
            throw new InvalidDataException(bad);
        var frames = new List<(byte[] Stored, int Length)>();
        long position = header.DataOffset;
        for (int i = 0; i < header.BlockCount; i++)
        {
            var entry = file.AsSpan((int)(header.BlockIndexOffset + i * 12));
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(entry);
            int size = (int)(stored & 0x3FFF_FFFF);
            long length = Math.Min(header.BlockSize, header.StreamLength - ((long)i << header.BlockSizeLog2));
            if ((stored & 0x8000_0000) == 0)
                frames.Add((file.AsSpan((int)position, size).ToArray(), (int)length));
            position += size;
        }
        int windowLog = header.BlockSizeLog2;
        long rawBytes = frames.Sum(f => (long)f.Length);
        var raw = frames.Select(f => new byte[f.Length]).ToArray();

        var native = new List<double>();
        var managed = new List<double>();
        using var dn = new ZstdDecompressor();
        using var dm = new ZstdSharp.Decompressor();
        var check = new byte[header.BlockSize];
        for (int r = 0; r < rounds; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < frames.Count; i++)
                if (!dn.TryDecompress(frames[i].Stored, raw[i]))
                    throw new InvalidDataException($"libzstd refused block {i}");
            native.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            for (int i = 0; i < frames.Count; i++)
                if (dm.Unwrap(frames[i].Stored, check) != frames[i].Length)
                    throw new InvalidDataException($"ZstdSharp refused block {i}");
            managed.Add(clock.Elapsed.TotalSeconds);
            // Same bytes from both (checked outside the timed loops, on the last block and a hash of all).
            if (!check.AsSpan(0, frames[^1].Length).SequenceEqual(raw[^1]))
                throw new InvalidDataException("the libraries disagree");
        }
        for (int i = 0; i < frames.Count; i++)
        {
            int n = dm.Unwrap(frames[i].Stored, check);
            if (!check.AsSpan(0, n).SequenceEqual(raw[i]))
                throw new InvalidDataException($"the libraries disagree on block {i}");
        }

        var cn = new List<double>();
        var cm = new List<double>();
        long sizeNative = 0, sizeManaged = 0;
        var output = new byte[ZstdCompressor.CompressBound(header.BlockSize)];
        using var zn = new ZstdCompressor(level, windowLog);
        using var zm = new ZstdSharp.Compressor(level);
        zm.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_windowLog, windowLog);
        for (int r = 0; r < Math.Max(1, rounds / 3); r++)
        {
            sizeNative = sizeManaged = 0;
            var clock = Stopwatch.StartNew();
            foreach (var block in raw)
                sizeNative += zn.Compress(block, output);
            cn.Add(clock.Elapsed.TotalSeconds);
            clock.Restart();
            foreach (var block in raw)
                sizeManaged += zm.Wrap(block, output);
            cm.Add(clock.Elapsed.TotalSeconds);
        }
        double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
        double mib = rawBytes / 1048576.0;
        string libzstd;
        unsafe { libzstd = new string((sbyte*)FlatImage.Native.Interop.Zstd.ZSTD_versionString()); }
        Console.WriteLine($"libzstd={libzstd} blocks={frames.Count} raw_mib={mib:F1} rounds={rounds} level={level} window_log={windowLog} "
            + $"decompress_native_s={Median(native):F3} decompress_managed_s={Median(managed):F3} "
            + $"decompress_native_mibps={mib / Median(native):F0} decompress_managed_mibps={mib / Median(managed):F0} "
            + $"compress_native_s={Median(cn):F2} compress_managed_s={Median(cm):F2} "
            + $"compressed_native={sizeNative} compressed_managed={sizeManaged}");
        return 0;
    }
}
