using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Io;

/// <summary>
/// Bytes handed to a child through an fd (memfd_create(2)): written once, sealed against any change,
/// and positioned at the start so that a reader that reads to end of file gets exactly them.
/// </summary>
public static unsafe class SealedMemoryFile
{
    /// <param name="avoidFd">
    /// a number the fd must not have: the child's number for it, since passing an fd under its own
    /// number would keep O_CLOEXEC (see <see cref="Spawn.ChildProcess.Start"/>).
    /// </param>
    public static SafeFd Create(string name, ReadOnlySpan<byte> contents, int avoidFd = -1)
    {
        int raw = Mman.memfd_create(name, Mman.MFD_CLOEXEC | Mman.MFD_ALLOW_SEALING);
        if (raw < 0)
            throw ErrnoException.FromLastError("memfd_create", name);
        if (raw == avoidFd)
        {
            const int F_DUPFD_CLOEXEC = 1030;
            int moved = Fcntl.fcntl(raw, F_DUPFD_CLOEXEC, avoidFd + 1);
            int errno = Marshal.GetLastPInvokeError();
            Unistd.close(raw);
            if (moved < 0)
                throw new ErrnoException(errno, "fcntl F_DUPFD_CLOEXEC", name);
            raw = moved;
        }
        var fd = new SafeFd(raw);
        try
        {
            fixed (byte* p = contents)
            {
                int done = 0;
                while (done < contents.Length)
                {
                    nint n = Unistd.write(raw, p + done, (nuint)(contents.Length - done));
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == Errno.EINTR)
                            continue;
                        throw new ErrnoException(errno, "write", name);
                    }
                    done += (int)n;
                }
            }
            // The reader shares our file offset: rewind, then forbid any change to what it will read.
            if (Unistd.lseek(raw, 0, Unistd.SEEK_SET) < 0)
                throw ErrnoException.FromLastError("lseek", name);
            if (Fcntl.fcntl(raw, Mman.F_ADD_SEALS, Mman.F_SEAL_SEAL | Mman.F_SEAL_SHRINK | Mman.F_SEAL_GROW | Mman.F_SEAL_WRITE) < 0)
                throw ErrnoException.FromLastError("fcntl F_ADD_SEALS", name);
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }
}
