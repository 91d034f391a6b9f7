using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>
/// Mirror of &lt;fcntl.h&gt;. O_NOFOLLOW and O_DIRECTORY differ between architectures
/// (asm-generic vs x86), so they are resolved once from the process architecture.
/// Raw results, errno via SetLastError.
/// </summary>
public static unsafe partial class Fcntl
{
    private const string Libc = "libc";

    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;

    // x86 and x86_64 use the asm-generic values, arm and arm64 have their own
    // (arch/arm64/include/uapi/asm/fcntl.h).
    private static readonly bool s_armFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64;
    public static int O_DIRECTORY => s_armFlags ? 0x4000 : 0x10000;
    public static int O_NOFOLLOW => s_armFlags ? 0x8000 : 0x20000;

    /// <summary>open(2) with its variadic mode passed as a fixed argument (same ABI on x86_64 and aarch64 Linux).</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int open(byte* pathname, int flags, uint mode);

    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;

    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int FD_CLOEXEC = 1;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    // openat(2) and O_PATH are declared with the other *at calls (AtFunctions.cs).
}
