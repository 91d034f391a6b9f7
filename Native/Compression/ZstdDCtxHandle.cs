using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Compression;

/// <summary>An owned <c>ZSTD_DCtx*</c>: null is invalid (ZSTD_createDCtx's out-of-memory result), release frees it.</summary>
public sealed class ZstdDCtxHandle : SafeHandle
{
    public ZstdDCtxHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => Zstd.ZSTD_isError(Zstd.ZSTD_freeDCtx(handle)) == 0;
}
