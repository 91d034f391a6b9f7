// Ours: Tmds.LibC 0.5.0 has no getdents64.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>
/// Mirror of &lt;dirent.h&gt;'s getdents64 (glibc &gt;= 2.30). Used instead of readdir so names
/// come back as raw bytes: a file name need not be valid UTF-8.
/// Record layout (<c>struct linux_dirent64</c>): u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, char d_name[].
/// </summary>
public static unsafe partial class Dirent
{
    private const string Libc = "libc";

    public const int d_ino_offset = 0;
    public const int d_reclen_offset = 16;
    public const int d_type_offset = 18;
    public const int d_name_offset = 19;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint getdents64(int fd, byte* dirp, nuint count);
}
