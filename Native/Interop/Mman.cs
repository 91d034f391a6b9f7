using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/mman.h&gt; (memfd_create, glibc &gt;= 2.27). Raw results, errno via SetLastError.</summary>
public static unsafe partial class Mman
{
    private const string Libc = "libc";

    public const uint MFD_CLOEXEC = 0x1;
    public const uint MFD_ALLOW_SEALING = 0x2;

    [LibraryImport(Libc, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    public const int SEEK_SET = 0;

    // fcntl.h file sealing: once sealed, no one holding the fd can change the contents.
    public const int F_ADD_SEALS = 1033;
    public const int F_SEAL_SEAL = 0x1;
    public const int F_SEAL_SHRINK = 0x2;
    public const int F_SEAL_GROW = 0x4;
    public const int F_SEAL_WRITE = 0x8;
}
