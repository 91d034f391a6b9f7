using System.Runtime.InteropServices;
using Tmds.Linux;

namespace FlatImage.Native.Interop;

/// <summary>
/// &lt;signal.h&gt; calls delegating to Tmds.LibC. Our sigset_t stays (ChildProcess and the layout
/// test use it): it has glibc's 128-byte layout, the same as Tmds.Linux.sigset_t. Raw results, errno set.
/// </summary>
public static unsafe partial class Signal
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGPIPE = 13;
    public const int SIGTERM = 15;
    public const int SIGCHLD = 17;

    /// <summary>glibc's sigset_t: 1024 bits.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct sigset_t { private fixed ulong __val[16]; }

    public static int sigemptyset(sigset_t* set) => LibC.sigemptyset((Tmds.Linux.sigset_t*)set);

    public static int sigfillset(sigset_t* set) => LibC.sigfillset((Tmds.Linux.sigset_t*)set);

    public static int sigaddset(sigset_t* set, int signum) => LibC.sigaddset((Tmds.Linux.sigset_t*)set, signum);

    public static int kill(int pid, int sig) => LibC.kill(pid, sig);
}
