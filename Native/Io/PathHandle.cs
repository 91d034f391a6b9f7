using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Io;

/// <summary>
/// O_PATH handles (open(2)): a reference to one inode that can be fstat-ed, used as the directory of
/// *at calls, or connected to through /proc/self/fd, without reading it. Opened with O_NOFOLLOW, the
/// handle of a symlink is the symlink itself, never what it points to.
/// </summary>
public static unsafe class PathHandle
{
    /// <summary>
    /// Opens <paramref name="name"/> (one component, or a whole path when <paramref name="directory"/>
    /// is null) without following a symlink in its last component. Returns the handle, or null with a
    /// positive <paramref name="errno"/>.
    /// </summary>
    public static SafeFd? Open(SafeFd? directory, string name, bool mustBeDirectory, out int errno)
    {
        int flags = Fcntl.O_PATH | Fcntl.O_NOFOLLOW | Fcntl.O_CLOEXEC | (mustBeDirectory ? Fcntl.O_DIRECTORY : 0);
        byte[] bytes = Encoding.UTF8.GetBytes(name + "\0");
        int fd;
        bool added = false;
        directory?.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = bytes)
                fd = Fcntl.openat(directory?.Fd ?? Stat.AT_FDCWD, p, flags, 0);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        finally
        {
            if (added)
                directory!.DangerousRelease();
        }
        return fd < 0 ? null : new SafeFd(fd);
    }
}
