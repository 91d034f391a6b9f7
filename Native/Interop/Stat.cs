using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>Mirror of &lt;sys/stat.h&gt; for x86-64 glibc (struct stat is 144 bytes there).</summary>
public static unsafe partial class Stat
{
    private const string Libc = "libc";

    public const uint S_IFMT = 0xF000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFLNK = 0xA000;

    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct stat_t
    {
        [FieldOffset(0)] public ulong st_dev;
        [FieldOffset(8)] public ulong st_ino;
        [FieldOffset(16)] public ulong st_nlink;
        [FieldOffset(24)] public uint st_mode;
        [FieldOffset(28)] public uint st_uid;
        [FieldOffset(32)] public uint st_gid;
        [FieldOffset(40)] public ulong st_rdev;
        [FieldOffset(48)] public long st_size;
    }

    [LibraryImport(Libc, EntryPoint = "stat", SetLastError = true)]
    public static partial int stat(byte* pathname, stat_t* statbuf);

    /// <summary>glibc's gnu_dev_major/gnu_dev_minor.</summary>
    public static uint major(ulong dev) => (uint)(((dev >> 32) & 0xfffff000) | ((dev >> 8) & 0x00000fff));
    public static uint minor(ulong dev) => (uint)(((dev >> 12) & 0xffffff00) | (dev & 0x000000ff));
}
