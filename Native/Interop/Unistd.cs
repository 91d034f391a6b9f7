using System.Text;
using Tmds.Linux;

namespace FlatImage.Native.Interop;

/// <summary>
/// &lt;unistd.h&gt; under the names and plain types our callers use, delegating to Tmds.LibC (whose
/// imports set errno, read back with Marshal.GetLastPInvokeError or LibC.errno: the same value).
/// Raw results, no exceptions.
/// </summary>
public static unsafe partial class Unistd
{
    public static int close(int fd) => LibC.close(fd);

    /// <summary>access(2) mode: may the caller execute the file? Also false (EACCES) on a noexec mount.</summary>
    public const int X_OK = 1;

    public static int access(string path, int mode)
    {
        fixed (byte* p = Utf8Z(path))
            return LibC.access(p, mode);
    }

    public static int lchown(string path, uint owner, uint group)
    {
        fixed (byte* p = Utf8Z(path))
            return LibC.lchown(p, owner, group);
    }

    public static uint getuid() => LibC.getuid();

    public static uint getgid() => LibC.getgid();

    public static int getpid() => LibC.getpid();

    public static int execve(byte* path, byte** argv, byte** envp) => LibC.execve(path, argv, envp);

    public static int fsync(int fd) => LibC.fsync(fd);

    public static int fdatasync(int fd) => LibC.fdatasync(fd);

    public static int link(byte* oldpath, byte* newpath) => LibC.link(oldpath, newpath);

    public static nint readlink(byte* pathname, byte* buf, nuint bufsiz) => (nint)(long)LibC.readlink(pathname, buf, (size_t)(ulong)bufsiz);

    public static uint geteuid() => LibC.geteuid();

    public static uint getegid() => LibC.getegid();

    public static nint read(int fd, void* buf, nuint count) => (nint)(long)LibC.read(fd, buf, (size_t)(ulong)count);

    public static nint write(int fd, void* buf, nuint count) => (nint)(long)LibC.write(fd, buf, (size_t)(ulong)count);

    /// <summary>pipe2(2); flags O_CLOEXEC so no child inherits an end by accident.</summary>
    public static int pipe2(int* pipefd, int flags) => LibC.pipe2(pipefd, flags);

    public static int setsid() => LibC.setsid();

    /// <summary>isatty(3): 1 when <paramref name="fd"/> is a terminal.</summary>
    public static int isatty(int fd) => LibC.isatty(fd);

    /// <summary>A path as the NUL-terminated UTF-8 bytes libc expects.</summary>
    internal static byte[] Utf8Z(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
