using System.Collections.Concurrent;
using FlatImage.Native.Compression;

namespace FlatImage.Runtime.Layers;

/// <summary>
/// zstd compressors with one configuration, reused across blocks: a compressor keeps its
/// (large, at high levels) match tables between calls, and a context is not thread-safe,
/// so each worker takes one, uses it, and gives it back.
/// </summary>
internal sealed class CompressorPool : IDisposable
{
    private readonly ConcurrentBag<ZstdCompressor> _idle = new();
    private readonly int _level;
    private readonly int _windowLog;
    private readonly bool _longDistance;

    public CompressorPool(int level, int windowLog, bool longDistance)
    {
        _level = level;
        _windowLog = windowLog;
        _longDistance = longDistance;
    }

    public ZstdCompressor Rent()
    {
        if (_idle.TryTake(out var compressor))
            return compressor;
        // The window never needs to exceed one block (blocks are independent frames); raising it
        // to the block size lets the faster levels, whose default window is smaller, match
        // across the whole block.
        return new ZstdCompressor(_level, _windowLog, _longDistance);
    }

    public void Return(ZstdCompressor compressor) => _idle.Add(compressor);

    public void Dispose()
    {
        while (_idle.TryTake(out var compressor))
            compressor.Dispose();
    }
}
