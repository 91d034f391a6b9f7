using Tmds.Linux;

namespace FlatImage.Native.Interop;

/// <summary>&lt;sys/ioctl.h&gt;'s ioctl delegating to Tmds.LibC. Raw results, errno set.</summary>
public static unsafe partial class Ioctl
{
    /// <summary>
    /// Tmds.LibC takes the request as an int: a request with the top bit set (FUSE_DEV_IOC_CLONE,
    /// _IOR) is sign-extended on the way, which is harmless because the kernel reads the request as
    /// an unsigned int (ioctl(2), fs/ioctl.c) and ignores the upper 32 bits.
    /// </summary>
    public static int ioctl(int fd, nuint request, void* arg) => LibC.ioctl(fd, unchecked((int)(uint)request), arg);
}
