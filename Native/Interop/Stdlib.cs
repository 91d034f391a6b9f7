// Ours: Tmds.LibC 0.5.0 has neither setenv nor signal.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;stdlib.h&gt; and &lt;signal.h&gt; bits the launcher needs at start-up.</summary>
public static partial class Stdlib
{
    /// <summary>
    /// .NET keeps its own copy of the environment on Unix; wordexp(3) and child processes started
    /// by libc read the C <c>environ</c>. Values that must be visible to them go through here.
    /// </summary>
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int setenv(string name, string value, int overwrite);

    public const int SIGCHLD = 17;
    public static readonly IntPtr SIG_DFL = IntPtr.Zero;

    [LibraryImport("libc", SetLastError = true)]
    public static partial IntPtr signal(int signum, IntPtr handler);
}
