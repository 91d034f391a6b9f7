// Ours: Tmds.LibC 0.5.0 has no flock.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/file.h&gt;: advisory whole-file locks (flock(2)).</summary>
public static partial class SysFile
{
    public const int LOCK_SH = 1;
    public const int LOCK_EX = 2;
    public const int LOCK_NB = 4;
    public const int LOCK_UN = 8;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int flock(int fd, int operation);
}
