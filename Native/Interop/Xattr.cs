// Ours: Tmds.LibC 0.5.0 has no extended-attribute calls.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/xattr.h&gt;. The l* variants act on a symlink itself, never its target.</summary>
public static unsafe partial class Xattr
{
    private const string Libc = "libc";

    /// <summary>Largest value the kernel accepts (XATTR_SIZE_MAX in &lt;linux/limits.h&gt;).</summary>
    public const int XATTR_SIZE_MAX = 65536;

    /// <summary>Largest name list the kernel returns (XATTR_LIST_MAX in &lt;linux/limits.h&gt;).</summary>
    public const int XATTR_LIST_MAX = 65536;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint llistxattr(byte* path, byte* list, nuint size);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint lgetxattr(byte* path, byte* name, byte* value, nuint size);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int lsetxattr(byte* path, byte* name, byte* value, nuint size, int flags);
}
