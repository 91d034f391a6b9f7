using System.Runtime.InteropServices;
using Tmds.Linux;

namespace FlatImage.Native.Interop;

/// <summary>
/// &lt;fcntl.h&gt; calls delegating to Tmds.LibC. The flag values stay C# constants here because
/// Tmds.LibC exposes them as properties, which switch and pattern matching cannot use.
/// O_NOFOLLOW and O_DIRECTORY differ between architectures (asm-generic vs x86), so they are
/// resolved once from the process architecture. Raw results, errno set.
/// </summary>
public static unsafe partial class Fcntl
{
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;

    // x86 and x86_64 use the asm-generic values, arm and arm64 have their own
    // (arch/arm64/include/uapi/asm/fcntl.h).
    private static readonly bool s_armFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64;
    public static int O_DIRECTORY => s_armFlags ? 0x4000 : 0x10000;
    public static int O_NOFOLLOW => s_armFlags ? 0x8000 : 0x20000;

    public static int open(byte* pathname, int flags, uint mode) => LibC.open(pathname, flags, (mode_t)(ushort)mode);

    public const int O_WRONLY = 0x1;
    public const int O_RDWR = 0x2;

    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int FD_CLOEXEC = 1;

    public static int fcntl(int fd, int cmd, int arg) => LibC.fcntl(fd, cmd, arg);

    // openat(2) and O_PATH are declared with the other *at calls (AtFunctions.cs).
}
