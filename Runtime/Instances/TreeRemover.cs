using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// Deletes a directory tree of ours — an instance directory, an overlay work directory, a cleared
/// writable layer — but never anything on another filesystem below it. An instance directory holds
/// mount points; if a mount could not be detached, a plain recursive delete would walk into the
/// user's writable layer through the overlay and delete their data. So every entry is lstat-ed,
/// and a directory whose device differs from the tree's root (a mount) or that cannot be stat-ed
/// (a dead FUSE mount) is left alone, together with its parents.
///
/// A directory the caller owns but may not read or write (the kernel overlay's work directory is
/// mode 0; dpkg creates directories with mode 0 and a guest makes others read-only) is given
/// owner rwx first: it is about to go, and its owner may always change its mode. What stays is
/// what belongs to someone else.
/// </summary>
public static class TreeRemover
{
    /// <summary>Returns true when the whole tree is gone.</summary>
    /// <param name="notRemoved">receives each path that stayed for a reason of its own (not merely because something below it stayed), and whether it is a directory.</param>
    public static bool RemoveWithoutCrossingMounts(string root, ICollection<(string Path, bool IsDirectory)>? notRemoved = null)
    {
        if (FileStatus.TryLstat(Encoding.UTF8.GetBytes(root), out var top) != 0)
            return !Path.Exists(root);
        if (top.FileType != Stat.S_IFDIR)
            return false;
        return Remove(root, top, top.Device, notRemoved);
    }

    private static bool Remove(string dir, FileStatus st, ulong device, ICollection<(string, bool)>? notRemoved)
    {
        const uint OwnerRwx = 0x1C0;
        if ((st.Mode & OwnerRwx) != OwnerRwx && st.Uid == Unistd.geteuid())
        {
            try
            {
                File.SetUnixFileMode(dir, (UnixFileMode)((st.Mode & 0xFFF) | OwnerRwx));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Enumerating or deleting below reports what stays.
            }
        }
        bool empty = true;
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(dir).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            notRemoved?.Add((dir, true));
            return false;
        }
        foreach (string entry in entries)
        {
            if (FileStatus.TryLstat(Encoding.UTF8.GetBytes(entry), out var child) != 0 || child.Device != device)
            {
                notRemoved?.Add((entry, true));
                empty = false;
                continue;
            }
            if (child.FileType == Stat.S_IFDIR)
            {
                if (!Remove(entry, child, device, notRemoved))
                    empty = false;
                continue;
            }
            try
            {
                File.Delete(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                notRemoved?.Add((entry, false));
                empty = false;
            }
        }
        if (!empty)
            return false;
        try
        {
            Directory.Delete(dir, recursive: false);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            notRemoved?.Add((dir, true));
            return false;
        }
    }
}
