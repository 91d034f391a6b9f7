using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;fcntl.h&gt;. Raw results, errno via SetLastError.</summary>
public static unsafe partial class Fcntl
{
    private const string Libc = "libc";

    public const int O_RDONLY = 0x0;
    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;
    public const int O_CLOEXEC = 0x80000;

    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int open(byte* pathname, int flags, uint mode);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);
}
