using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/ioctl.h&gt;. ioctl is variadic in C; on x86-64 and arm64 a pointer third
/// argument is passed like a fixed one, which is all we use.</summary>
public static unsafe partial class Ioctl
{
    private const string Libc = "libc";

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* arg);
}
