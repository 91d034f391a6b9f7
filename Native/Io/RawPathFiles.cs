using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Interop;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Native.Io;

/// <summary>
/// File operations on paths given as raw bytes. .NET's own APIs take strings, which cannot
/// hold a file name that is not valid UTF-8; a layer must keep such names exactly.
/// Failures throw <see cref="ErrnoException"/>; the Try forms return a positive errno.
/// </summary>
public static unsafe class RawPathFiles
{
    /// <summary>Names in a directory (without "." and ".."), in the kernel's order.</summary>
    public static int TryReadDirectory(ReadOnlySpan<byte> path, List<byte[]> names)
    {
        int fd;
        using (var z = new NulTerminated(path))
        {
            fixed (byte* p = z.Bytes)
                fd = Fcntl.open(p, Fcntl.O_RDONLY | Fcntl.O_DIRECTORY | Fcntl.O_NOFOLLOW | Fcntl.O_CLOEXEC, 0);
        }
        if (fd < 0)
            return Marshal.GetLastPInvokeError();
        using var handle = new SafeFd(fd);
        byte[] buffer = new byte[32 * 1024];
        fixed (byte* b = buffer)
        {
            while (true)
            {
                nint n = Dirent.getdents64(fd, b, (nuint)buffer.Length);
                if (n < 0)
                    return Marshal.GetLastPInvokeError();
                if (n == 0)
                    return 0;
                int pos = 0;
                while (pos < n)
                {
                    ushort reclen = *(ushort*)(b + pos + Dirent.d_reclen_offset);
                    var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(b + pos + Dirent.d_name_offset);
                    if (!(name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)))
                        names.Add(name.ToArray());
                    pos += reclen;
                }
            }
        }
    }

    /// <summary>The target of a symlink, as bytes.</summary>
    public static byte[] ReadLink(ReadOnlySpan<byte> path)
    {
        using var z = new NulTerminated(path);
        // PATH_MAX is the kernel's limit for a symlink body; a longer result means truncation.
        byte[] buffer = new byte[4096 + 1];
        nint n;
        fixed (byte* p = z.Bytes, b = buffer)
            n = Unistd.readlink(p, b, (nuint)buffer.Length);
        if (n < 0)
            throw ErrnoException.FromLastError("readlink", Encoding.UTF8.GetString(path));
        if (n >= buffer.Length)
            throw new ErrnoException(36 /* ENAMETOOLONG */, "readlink", Encoding.UTF8.GetString(path));
        return buffer.AsSpan(0, (int)n).ToArray();
    }

    /// <summary>All extended attributes of the path itself (symlinks not followed).</summary>
    public static List<KeyValuePair<byte[], byte[]>> ListXattrs(ReadOnlySpan<byte> path)
    {
        var result = new List<KeyValuePair<byte[], byte[]>>();
        using var z = new NulTerminated(path);
        byte[] list = new byte[Xattr.XATTR_LIST_MAX];
        nint n;
        fixed (byte* p = z.Bytes, l = list)
            n = Xattr.llistxattr(p, l, (nuint)list.Length);
        if (n < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            // ENOTSUP: the filesystem has no xattrs at all, so there is nothing to keep.
            if (errno == 95)
                return result;
            throw new ErrnoException(errno, "llistxattr", Encoding.UTF8.GetString(path));
        }
        byte[] value = new byte[Xattr.XATTR_SIZE_MAX];
        int pos = 0;
        while (pos < n)
        {
            int end = Array.IndexOf(list, (byte)0, pos, (int)n - pos);
            if (end < 0)
                end = (int)n;
            if (end > pos)
            {
                byte[] name = list.AsSpan(pos, end - pos).ToArray();
                nint vn;
                fixed (byte* p = z.Bytes, l = list, v = value)
                    vn = Xattr.lgetxattr(p, l + pos, v, (nuint)value.Length);
                if (vn < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    // ENODATA: removed between list and get; it is simply gone.
                    if (errno != 61)
                        throw new ErrnoException(errno, "lgetxattr", Encoding.UTF8.GetString(path));
                }
                else
                {
                    result.Add(new(name, value.AsSpan(0, (int)vn).ToArray()));
                }
            }
            pos = end + 1;
        }
        return result;
    }

    /// <summary>lsetxattr(2), for building test trees and restoring files.</summary>
    public static void SetXattr(ReadOnlySpan<byte> path, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        using var z = new NulTerminated(path);
        using var zn = new NulTerminated(name);
        int rc;
        fixed (byte* p = z.Bytes, nm = zn.Bytes, v = value)
            rc = Xattr.lsetxattr(p, nm, v, (nuint)value.Length, 0);
        if (rc != 0)
            throw ErrnoException.FromLastError("lsetxattr", Encoding.UTF8.GetString(path));
    }

    /// <summary>
    /// Opens a file for reading without following a final symlink (O_NOFOLLOW), so a file
    /// swapped for a link between the walk and the read cannot pull in data from elsewhere.
    /// O_NONBLOCK keeps a FIFO swapped in for the file from blocking the open forever; it has
    /// no effect on regular files.
    /// </summary>
    public static int TryOpenRead(ReadOnlySpan<byte> path, out SafeFileHandle handle)
    {
        int fd;
        using (var z = new NulTerminated(path))
        {
            fixed (byte* p = z.Bytes)
                fd = Fcntl.open(p, Fcntl.O_RDONLY | Fcntl.O_NOFOLLOW | Fcntl.O_NONBLOCK | Fcntl.O_CLOEXEC, 0);
        }
        if (fd < 0)
        {
            handle = new SafeFileHandle();
            return Marshal.GetLastPInvokeError();
        }
        handle = new SafeFileHandle(fd, ownsHandle: true);
        return 0;
    }

    /// <summary>link(2): a second name for a file, which fails with EEXIST rather than replace one; 0 or a positive errno.</summary>
    public static int TryLink(string existing, string newPath)
    {
        using var from = new NulTerminated(Encoding.UTF8.GetBytes(existing));
        using var to = new NulTerminated(Encoding.UTF8.GetBytes(newPath));
        fixed (byte* f = from.Bytes)
        fixed (byte* t = to.Bytes)
            return Unistd.link(f, t) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>fsync(2) a directory so a rename inside it survives a crash.</summary>
    public static void FsyncDirectory(string path)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path);
        int fd;
        using (var z = new NulTerminated(bytes))
        {
            fixed (byte* p = z.Bytes)
                fd = Fcntl.open(p, Fcntl.O_RDONLY | Fcntl.O_DIRECTORY | Fcntl.O_CLOEXEC, 0);
        }
        if (fd < 0)
            throw ErrnoException.FromLastError("open", path);
        using var handle = new SafeFd(fd);
        if (Unistd.fsync(fd) != 0)
            throw ErrnoException.FromLastError("fsync", path);
    }

    /// <summary>mknod(2) for device nodes and fifos (tests build trees with them).</summary>
    public static void MakeNode(ReadOnlySpan<byte> path, uint mode, ulong rdev)
    {
        using var z = new NulTerminated(path);
        int rc;
        fixed (byte* p = z.Bytes)
            rc = Stat.mknod(p, mode, rdev);
        if (rc != 0)
            throw ErrnoException.FromLastError("mknod", Encoding.UTF8.GetString(path));
    }
}
