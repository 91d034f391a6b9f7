using FlatImage.Runtime.Image;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// Creates the sandbox's mount points in the merged root before bwrap starts. bwrap would create
/// missing ones itself, but instances of one image share the writable layer: two fuse-overlayfs
/// daemons creating the same directory in one upper directory at the same moment make one of
/// them fail with ENOTEMPTY, which bwrap does not forgive. So the launcher creates them, under a
/// lock on the data directory, and bwrap only finds them there.
///
/// Every path is walked component by component inside the guest's tree: a symlink is resolved
/// as the guest would (<see cref="GuestPath"/>), so an absolute link in the image can never make
/// the launcher create anything on the host.
/// </summary>
public static class MountPoints
{
    public static void Prepare(string mergedRoot, string dataDirectory, IEnumerable<(string Destination, bool IsDirectory)> targets)
    {
        string lockPath = Path.Combine(dataDirectory, ".lock");
        using var lockFile = File.OpenHandle(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        using var held = ConfigStore.Lock(lockFile, lockPath);
        foreach (var (destination, isDirectory) in targets)
            Create(mergedRoot, destination, isDirectory);
    }

    private static void Create(string root, string destination, bool isDirectory)
    {
        var parts = destination.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
            return;
        string guest = "";
        for (int i = 0; i < parts.Length; i++)
        {
            guest += "/" + parts[i];
            bool last = i == parts.Length - 1;
            string? host = GuestPath.Resolve(root, guest);
            if (host is not null)
                continue;
            // Missing: create it inside its (resolved) parent, never through a host path.
            string? parent = GuestPath.Resolve(root, guest[..guest.LastIndexOf('/')] is { Length: > 0 } p ? p : "/");
            if (parent is null || !Directory.Exists(parent))
                return;
            string target = Path.Combine(parent, parts[i]);
            if (new FileInfo(target).LinkTarget is not null)
                return; // a dangling symlink: leave it for bwrap to report
            if (last && !isDirectory)
                File.WriteAllBytes(target, []);
            else
                Directory.CreateDirectory(target);
        }
    }
}
