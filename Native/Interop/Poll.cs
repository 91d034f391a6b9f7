// Ours: Tmds.LibC 0.5.0 imports poll without SetLastError, so its EINTR could not be read back.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;poll.h&gt;.</summary>
public static unsafe partial class Poll
{
    private const string Libc = "libc";

    public const short POLLIN = 0x001;
    public const short POLLHUP = 0x010;

    [StructLayout(LayoutKind.Sequential)]
    public struct pollfd
    {
        public int fd;
        public short events;
        public short revents;
    }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int poll(pollfd* fds, nuint nfds, int timeout);
}
