using Tmds.Linux;

namespace FlatImage.Native.Interop;

/// <summary>&lt;sys/mount.h&gt; calls delegating to Tmds.LibC; the flags stay C# constants. Raw results, errno set.</summary>
public static unsafe partial class Mount
{
    public const ulong MS_RDONLY = 1;
    public const ulong MS_NOSUID = 2;
    public const ulong MS_NODEV = 4;
    public const ulong MS_NOEXEC = 8;
    public const ulong MS_NOATIME = 1024;

    public const int MNT_FORCE = 1;
    public const int MNT_DETACH = 2;
    public const int MNT_EXPIRE = 4;
    public const int UMOUNT_NOFOLLOW = 8;

    public static int mount(byte* source, byte* target, byte* filesystemtype, ulong mountflags, void* data)
        => LibC.mount(source, target, filesystemtype, (ulong_t)mountflags, data);

    public static int umount2(byte* target, int flags) => LibC.umount2(target, flags);
}
