using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Io;

/// <summary>Whole-file advisory locks (flock(2)) on open files, the one place that knows its errno rules.</summary>
public static class FileLocks
{
    /// <summary>
    /// flock(2) with <paramref name="operation"/> (LOCK_SH, LOCK_EX, LOCK_UN, optionally | LOCK_NB),
    /// retrying EINTR. Returns false only when LOCK_NB was asked and someone else holds the lock
    /// (EWOULDBLOCK); any other failure throws <see cref="ErrnoException"/> naming <paramref name="path"/>.
    /// </summary>
    public static bool Flock(SafeHandle file, int operation, string path)
    {
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                if (SysFile.flock((int)file.DangerousGetHandle(), operation) == 0)
                    return true;
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EINTR)
                    continue;
                if (errno == Errno.EAGAIN && (operation & SysFile.LOCK_NB) != 0)
                    return false;
                throw new ErrnoException(errno, "flock", path);
            }
        }
        finally
        {
            file.DangerousRelease();
        }
    }
}
