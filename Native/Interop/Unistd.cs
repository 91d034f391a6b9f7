using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;unistd.h&gt; for the calls Tmds.LibC does not cover. Raw results, errno via SetLastError.</summary>
public static unsafe partial class Unistd
{
    private const string Libc = "libc";

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>access(2) mode: may the caller execute the file? Also false (EACCES) on a noexec mount.</summary>
    public const int X_OK = 1;

    [LibraryImport(Libc, EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    [LibraryImport(Libc, EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lchown(string path, uint owner, uint group);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial uint getuid();

    [LibraryImport(Libc, SetLastError = true)]
    public static partial uint getgid();

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int getpid();

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int execve(byte* path, byte** argv, byte** envp);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fsync(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int fdatasync(int fd);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int link(byte* oldpath, byte* newpath);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint readlink(byte* pathname, byte* buf, nuint bufsiz);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial uint geteuid();

    [LibraryImport(Libc, SetLastError = true)]
    public static partial uint getegid();

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial nint write(int fd, void* buf, nuint count);

    /// <summary>pipe2(2); flags O_CLOEXEC so no child inherits an end by accident.</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int pipe2(int* pipefd, int flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int setsid();

    /// <summary>isatty(3): 1 when <paramref name="fd"/> is a terminal.</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int isatty(int fd);
}
