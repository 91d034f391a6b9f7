using Tmds.Linux;

namespace FlatImage.Native.Interop;

/// <summary>&lt;sys/mman.h&gt;'s memfd_create and the file-sealing flags, delegating to Tmds.LibC. Raw results, errno set.</summary>
public static unsafe partial class Mman
{
    public const uint MFD_CLOEXEC = 0x1;
    public const uint MFD_ALLOW_SEALING = 0x2;

    public static int memfd_create(string name, uint flags)
    {
        fixed (byte* p = Unistd.Utf8Z(name))
            return LibC.memfd_create(p, flags);
    }

    // fcntl.h file sealing: once sealed, no one holding the fd can change the contents.
    public const int F_ADD_SEALS = 1033;
    public const int F_SEAL_SEAL = 0x1;
    public const int F_SEAL_SHRINK = 0x2;
    public const int F_SEAL_GROW = 0x4;
    public const int F_SEAL_WRITE = 0x8;
}
