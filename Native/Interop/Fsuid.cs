// Ours: Tmds.LibC 0.5.0 has no setfsuid or setfsgid.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>
/// Mirror of &lt;sys/fsuid.h&gt;. setfsuid changes the file-system uid of the calling thread only
/// (the syscall is per-thread and glibc does not broadcast it), and a change away from 0 drops
/// CAP_DAC_OVERRIDE and friends for that thread (capabilities(7)). Both calls return the
/// previous id and cannot report errors, so callers check the result with a second call.
/// </summary>
public static partial class Fsuid
{
    private const string Libc = "libc";

    [LibraryImport(Libc)]
    public static partial int setfsuid(uint fsuid);

    [LibraryImport(Libc)]
    public static partial int setfsgid(uint fsgid);
}
