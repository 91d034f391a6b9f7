using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Fuse;

/// <summary>
/// An open <c>/dev/fuse</c> descriptor bound to one FUSE connection (or about to be, before
/// mount(2)). The connection lives as long as any descriptor of it is open: closing the last one
/// aborts it (the mount then answers ENOTCONN until it is unmounted). So the owner closes it only
/// after unmounting and after the session's workers have stopped.
/// </summary>
public sealed class FuseDeviceHandle : SafeHandle
{
    public FuseDeviceHandle() : base(new IntPtr(-1), ownsHandle: true) { }

    internal FuseDeviceHandle(int fd) : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The raw number; callers that pass it to a syscall hold a DangerousAddRef.</summary>
    internal int Fd => (int)handle.ToInt64();

    protected override bool ReleaseHandle() => Unistd.close((int)handle.ToInt64()) == 0;

    /// <summary>
    /// Opens a fresh <c>/dev/fuse</c> descriptor. O_CLOEXEC: no child we spawn may inherit the
    /// connection (a child holding it would keep a dead mount's connection alive).
    /// See fuse(4).
    /// </summary>
    public static unsafe FuseDeviceHandle Open()
    {
        int fd;
        fixed (byte* path = "/dev/fuse\0"u8)
            fd = Fcntl.open(path, Fcntl.O_RDWR | Fcntl.O_CLOEXEC, 0);
        if (fd < 0)
            throw ErrnoException.FromLastError("open", "/dev/fuse");
        return new FuseDeviceHandle(fd);
    }

    /// <summary>
    /// Opens a new <c>/dev/fuse</c> descriptor and attaches it to this one's connection with
    /// FUSE_DEV_IOC_CLONE (linux/fuse.h). Each clone has its own processing queue, so worker
    /// threads reading from their own clone do not contend on one file's lock, and a reply must
    /// be written to the clone that delivered its request.
    /// </summary>
    public unsafe FuseDeviceHandle Clone()
    {
        var clone = Open();
        bool added = false, cloneAdded = false;
        try
        {
            DangerousAddRef(ref added);
            clone.DangerousAddRef(ref cloneAdded);
            uint sessionFd = (uint)Fd;
            if (Ioctl.ioctl(clone.Fd, FuseKernel.FUSE_DEV_IOC_CLONE, &sessionFd) != 0)
                throw ErrnoException.FromLastError("ioctl FUSE_DEV_IOC_CLONE", "/dev/fuse");
        }
        catch
        {
            if (cloneAdded) { clone.DangerousRelease(); cloneAdded = false; }
            clone.Dispose();
            throw;
        }
        finally
        {
            if (cloneAdded) clone.DangerousRelease();
            if (added) DangerousRelease();
        }
        return clone;
    }
}
