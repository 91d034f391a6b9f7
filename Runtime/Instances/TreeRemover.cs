using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// Deletes a directory tree of ours — an instance directory, an overlay work directory — but never
/// anything on another filesystem below it. An instance directory holds mount points; if a mount
/// could not be detached, a plain recursive delete would walk into the user's writable layer
/// through the overlay and delete their data. So every entry is lstat-ed, and a directory whose
/// device differs from the tree's root (a mount) or that cannot be stat-ed (a dead FUSE mount) is
/// left alone, together with its parents.
/// </summary>
public static class TreeRemover
{
    /// <summary>Returns true when the whole tree is gone.</summary>
    public static bool RemoveWithoutCrossingMounts(string root)
    {
        if (FileStatus.TryLstat(Encoding.UTF8.GetBytes(root), out var top) != 0)
            return !Path.Exists(root);
        if (top.FileType != Stat.S_IFDIR)
            return false;
        return Remove(root, top.Device);
    }

    private static bool Remove(string dir, ulong device)
    {
        bool empty = true;
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(dir).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        foreach (string entry in entries)
        {
            if (FileStatus.TryLstat(Encoding.UTF8.GetBytes(entry), out var st) != 0 || st.Device != device)
            {
                empty = false;
                continue;
            }
            try
            {
                if (st.FileType == Stat.S_IFDIR)
                {
                    if (!Remove(entry, device))
                    {
                        empty = false;
                        continue;
                    }
                }
                else
                {
                    File.Delete(entry);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
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
            return false;
        }
    }
}
