using FlatImage.Native.Interop;

namespace FlatImage.Native.Compression;

/// <summary>
/// One libzstd compression context with fixed parameters; each call makes one complete,
/// standard zstd frame that states its content size. A context keeps its match tables between
/// calls, which is why it is reused; it is not thread-safe, so one thread uses it at a time.
/// </summary>
public sealed class ZstdCompressor : IDisposable
{
    private readonly ZstdCCtxHandle _cctx;

    /// <param name="level">zstd compression level (libzstd clamps it to its range).</param>
    /// <param name="windowLog">log2 of the match window; 0 keeps the level's default.</param>
    /// <param name="longDistanceMatching">zstd's long distance matcher.</param>
    public ZstdCompressor(int level, int windowLog = 0, bool longDistanceMatching = false)
    {
        _cctx = Zstd.ZSTD_createCCtx();
        if (_cctx.IsInvalid)
        {
            _cctx.Dispose();
            throw new ZstdException("zstd: cannot allocate a compression context");
        }
        try
        {
            Set(Zstd.ZSTD_cParameter.ZSTD_c_compressionLevel, level);
            if (windowLog != 0)
                Set(Zstd.ZSTD_cParameter.ZSTD_c_windowLog, windowLog);
            if (longDistanceMatching)
                Set(Zstd.ZSTD_cParameter.ZSTD_c_enableLongDistanceMatching, 1);
        }
        catch
        {
            _cctx.Dispose();
            throw;
        }
    }

    /// <summary>The largest frame one call can produce from <paramref name="length"/> bytes.</summary>
    public static int CompressBound(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        nuint bound = Zstd.ZSTD_compressBound((nuint)length);
        if (Zstd.ZSTD_isError(bound) != 0 || bound > int.MaxValue)
            throw new ZstdException($"zstd: {length} bytes are too many for one frame");
        return (int)bound;
    }

    /// <summary>
    /// Compresses <paramref name="source"/> into one frame in <paramref name="destination"/> and
    /// returns its length. A destination of <see cref="CompressBound"/> bytes always suffices.
    /// </summary>
    public unsafe int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        nuint written;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
            written = Zstd.ZSTD_compress2(_cctx, dst, (nuint)destination.Length, src, (nuint)source.Length);
        Check(written, "compress");
        return (int)written;
    }

    /// <summary>Compresses <paramref name="source"/> into a new array holding exactly one frame.</summary>
    public byte[] Compress(ReadOnlySpan<byte> source)
    {
        var buffer = new byte[CompressBound(source.Length)];
        int written = Compress(source, buffer);
        return buffer.AsSpan(0, written).ToArray();
    }

    public void Dispose() => _cctx.Dispose();

    private void Set(Zstd.ZSTD_cParameter parameter, int value)
        => Check(Zstd.ZSTD_CCtx_setParameter(_cctx, parameter, value), $"set {parameter} to {value}");

    private static unsafe void Check(nuint result, string operation)
    {
        if (Zstd.ZSTD_isError(result) != 0)
            throw new ZstdException($"zstd: cannot {operation}: {ErrorName(result)}");
    }

    internal static unsafe string ErrorName(nuint code)
        => new string((sbyte*)Zstd.ZSTD_getErrorName(code));
}
