// Ours: Tmds.LibC 0.5.0 has no pidfd_open or pidfd_send_signal.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/pidfd.h&gt; (glibc 2.36+).</summary>
public static unsafe partial class Pidfd
{
    private const string Libc = "libc";

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int pidfd_open(int pid, uint flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int pidfd_send_signal(int pidfd, int sig, void* info, uint flags);
}
