using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/mount.h&gt;. Raw results, errno via SetLastError.</summary>
public static unsafe partial class Mount
{
    private const string Libc = "libc";

    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_NOEXEC = 8;
    public const ulong MS_NOATIME = 1024;

    public const int MNT_FORCE = 1;
    public const int MNT_DETACH = 2;
    public const int MNT_EXPIRE = 4;
    public const int UMOUNT_NOFOLLOW = 8;

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int mount(byte* source, byte* target, byte* filesystemtype, ulong mountflags, void* data);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int umount2(byte* target, int flags);
}
