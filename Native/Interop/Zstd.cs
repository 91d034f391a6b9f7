// Ours: the few calls of <zstd.h> (libzstd 1.5) that layers need. The launcher links libzstd.a
// statically (DirectPInvoke in Cli/FlatImage.Cli.csproj); JIT hosts load libzstd.so.1
// (NativeLibraries).
using System.Runtime.InteropServices;
using FlatImage.Native.Compression;

namespace FlatImage.Native.Interop;

/// <summary>
/// Mirror of &lt;zstd.h&gt;. libzstd reports failures in its <c>size_t</c> results (test them with
/// <see cref="ZSTD_isError"/>), never through errno, so these imports do not set the last error.
/// </summary>
public static unsafe partial class Zstd
{
    internal const string Lib = "libzstd";

    /// <summary><c>ZSTD_CONTENTSIZE_UNKNOWN</c>: the frame does not state its decompressed size.</summary>
    public const ulong ZSTD_CONTENTSIZE_UNKNOWN = ulong.MaxValue;

    /// <summary><c>ZSTD_CONTENTSIZE_ERROR</c>: not a zstd frame, or too short to hold its header.</summary>
    public const ulong ZSTD_CONTENTSIZE_ERROR = ulong.MaxValue - 1;

    /// <summary>The subset of <c>ZSTD_cParameter</c> we set.</summary>
    public enum ZSTD_cParameter
    {
        ZSTD_c_compressionLevel = 100,
        ZSTD_c_windowLog = 101,
        ZSTD_c_enableLongDistanceMatching = 160,
    }

    [LibraryImport(Lib)]
    public static partial uint ZSTD_versionNumber();

    [LibraryImport(Lib)]
    public static partial byte* ZSTD_versionString();

    [LibraryImport(Lib)]
    public static partial uint ZSTD_isError(nuint code);

    [LibraryImport(Lib)]
    public static partial byte* ZSTD_getErrorName(nuint code);

    [LibraryImport(Lib)]
    public static partial nuint ZSTD_compressBound(nuint srcSize);

    [LibraryImport(Lib)]
    public static partial ulong ZSTD_getFrameContentSize(byte* src, nuint srcSize);

    [LibraryImport(Lib)]
    public static partial ZstdCCtxHandle ZSTD_createCCtx();

    [LibraryImport(Lib)]
    public static partial nuint ZSTD_freeCCtx(nint cctx);

    [LibraryImport(Lib)]
    public static partial nuint ZSTD_CCtx_setParameter(ZstdCCtxHandle cctx, ZSTD_cParameter param, int value);

    [LibraryImport(Lib)]
    public static partial nuint ZSTD_compress2(ZstdCCtxHandle cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    [LibraryImport(Lib)]
    public static partial ZstdDCtxHandle ZSTD_createDCtx();

    [LibraryImport(Lib)]
    public static partial nuint ZSTD_freeDCtx(nint dctx);

    [LibraryImport(Lib)]
    public static partial nuint ZSTD_decompressDCtx(ZstdDCtxHandle dctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);
}
