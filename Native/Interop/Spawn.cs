// Ours: Tmds.LibC 0.5.0 has no posix_spawn family.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;spawn.h&gt;. The opaque glibc types are held in fixed buffers larger than
/// glibc's (posix_spawn_file_actions_t is 80 bytes, posix_spawnattr_t 336 bytes on x86-64).</summary>
public static unsafe partial class Spawn
{
    private const string Libc = "libc";

    public const short POSIX_SPAWN_RESETIDS = 0x01;
    public const short POSIX_SPAWN_SETPGROUP = 0x02;
    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;

    [StructLayout(LayoutKind.Sequential)]
    public struct posix_spawn_file_actions_t { private fixed byte _opaque[128]; }

    [StructLayout(LayoutKind.Sequential)]
    public struct posix_spawnattr_t { private fixed byte _opaque[512]; }

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawn(int* pid, byte* path, posix_spawn_file_actions_t* file_actions,
        posix_spawnattr_t* attrp, byte** argv, byte** envp);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawn_file_actions_init(posix_spawn_file_actions_t* file_actions);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t* file_actions);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t* file_actions, int fildes, int newfildes);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t* file_actions, int fildes);

    /// <summary>glibc 2.29+: the child changes to this directory before exec.</summary>
    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t* file_actions, byte* path);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawnattr_init(posix_spawnattr_t* attr);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawnattr_destroy(posix_spawnattr_t* attr);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawnattr_setflags(posix_spawnattr_t* attr, short flags);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawnattr_setsigmask(posix_spawnattr_t* attr, Signal.sigset_t* sigmask);

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int posix_spawnattr_setsigdefault(posix_spawnattr_t* attr, Signal.sigset_t* sigdefault);
}
