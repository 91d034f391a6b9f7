// Ours: Tmds.LibC 0.5.0 has no waitpid.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/wait.h&gt;. We only ever wait for a pid we started, never -1.</summary>
public static unsafe partial class Wait
{
    private const string Libc = "libc";

    public const int WNOHANG = 1;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int waitpid(int pid, int* wstatus, int options);

    public static bool WIFEXITED(int status) => (status & 0x7f) == 0;
    public static int WEXITSTATUS(int status) => (status >> 8) & 0xff;
    public static bool WIFSIGNALED(int status) => ((sbyte)((status & 0x7f) + 1) >> 1) > 0;
    public static int WTERMSIG(int status) => status & 0x7f;
}
