using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Compression;

/// <summary>An owned <c>ZSTD_CCtx*</c>: null is invalid (ZSTD_createCCtx's out-of-memory result), release frees it.</summary>
public sealed class ZstdCCtxHandle : SafeHandle
{
    public ZstdCCtxHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    // ZSTD_freeCCtx refuses only a context placed in caller-provided memory (ZSTD_initStaticCCtx),
    // which we never make.
    protected override bool ReleaseHandle() => Zstd.ZSTD_isError(Zstd.ZSTD_freeCCtx(handle)) == 0;
}
