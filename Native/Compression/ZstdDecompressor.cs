using FlatImage.Native.Interop;

namespace FlatImage.Native.Compression;

/// <summary>
/// One libzstd decompression context, reused across frames (it keeps its tables allocated).
/// Not thread-safe: one thread uses it at a time.
///
/// A frame is accepted only when it decompresses to exactly the length the caller expects:
/// the caller knows that length from its own (checksummed) index, so a frame that states or
/// yields another size is damaged, and the caller gets <c>false</c>, never a partly filled buffer
/// it could mistake for data. libzstd never writes past the destination's length, and one-shot
/// decompression writes straight into the destination and allocates no window, so a crafted
/// frame cannot make it use more memory than the destination the caller provides.
/// </summary>
public sealed class ZstdDecompressor : IDisposable
{
    private readonly ZstdDCtxHandle _dctx;

    public ZstdDecompressor()
    {
        _dctx = Zstd.ZSTD_createDCtx();
        if (_dctx.IsInvalid)
        {
            _dctx.Dispose();
            throw new ZstdException("zstd: cannot allocate a decompression context");
        }
    }

    /// <summary>
    /// The decompressed size the frame at the start of <paramref name="frame"/> states in its header;
    /// false when it is not a zstd frame or does not state one.
    /// </summary>
    public static unsafe bool TryGetContentSize(ReadOnlySpan<byte> frame, out ulong size)
    {
        fixed (byte* src = frame)
            size = Zstd.ZSTD_getFrameContentSize(src, (nuint)frame.Length);
        if (size is Zstd.ZSTD_CONTENTSIZE_ERROR or Zstd.ZSTD_CONTENTSIZE_UNKNOWN)
        {
            size = 0;
            return false;
        }
        return true;
    }

    /// <summary>
    /// Decompresses <paramref name="frame"/> into <paramref name="destination"/>; true only when it
    /// is valid zstd and fills <paramref name="destination"/> exactly. libzstd itself refuses a
    /// frame whose blocks disagree with the size its header states, a content checksum that fails,
    /// and bytes it does not consume; the length check covers a frame that states no size (allowed
    /// by the format; our writer always states it) or a smaller one than expected. On false the
    /// destination's contents are unspecified.
    /// </summary>
    public unsafe bool TryDecompress(ReadOnlySpan<byte> frame, Span<byte> destination)
    {
        nuint written;
        fixed (byte* src = frame)
        fixed (byte* dst = destination)
            written = Zstd.ZSTD_decompressDCtx(_dctx, dst, (nuint)destination.Length, src, (nuint)frame.Length);
        return Zstd.ZSTD_isError(written) == 0 && written == (nuint)destination.Length;
    }

    public void Dispose() => _dctx.Dispose();
}
