using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;signal.h&gt;. Raw results, errno via SetLastError.</summary>
public static unsafe partial class Signal
{
    private const string Libc = "libc";

    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGPIPE = 13;
    public const int SIGTERM = 15;
    public const int SIGCHLD = 17;

    /// <summary>glibc's sigset_t: 1024 bits.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct sigset_t { private fixed ulong __val[16]; }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sigemptyset(sigset_t* set);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sigfillset(sigset_t* set);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int sigaddset(sigset_t* set, int signum);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int kill(int pid, int sig);
}
