using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The scaffold: a small read-only directory, made fresh for each run and stacked as the top
/// read-only layer, that holds every mount point bwrap needs (empty directories and files).
///
/// Why not let bwrap create them? Instances of one image share the writable layer, and two
/// overlay daemons creating the same directory in one upper directory at once make one fail
/// with ENOTEMPTY, which bwrap does not forgive; a daemon's cached "does not exist" makes even a
/// pre-created directory fail the same way. Mount points that come from a lower layer are never
/// created in the upper directory, so there is nothing to race on, and nothing of the sandbox's
/// plumbing ends up in the user's writable layer (or in a commit).
/// </summary>
public static class MountPoints
{
    /// <param name="lowerTopFirst">
    /// the read-only layers' mount points, top first. The scaffold is the topmost read-only layer,
    /// so each of its directories is what the sandbox sees at that path: it takes the mode, times
    /// (and, for root, owner) of the directory the layers have there, or a <c>chmod 700 /etc</c>
    /// that a commit put in a layer would show as the scaffold's 755.
    /// </param>
    public static void CreateScaffold(string scaffold, IEnumerable<(string Destination, bool IsDirectory)> targets, IReadOnlyList<string>? lowerTopFirst = null)
    {
        Directory.CreateDirectory(scaffold);
        var directories = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (destination, isDirectory) in targets)
        {
            var parts = destination.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || parts.Any(p => p is "." or ".."))
                continue;
            string path = Path.Combine([scaffold, .. parts]);
            if (isDirectory)
            {
                Directory.CreateDirectory(path);
            }
            else if (!Directory.Exists(path))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, []);
            }
            for (int n = isDirectory ? parts.Length : parts.Length - 1; n > 0; n--)
                directories.Add(string.Join('/', parts.Take(n)));
        }
        if (lowerTopFirst is null)
            return;
        // Deepest first: setting a directory's times must come after its children are complete.
        foreach (string relative in directories.Reverse())
        {
            string? below = lowerTopFirst.Select(l => Path.Combine(l, relative)).FirstOrDefault(Path.Exists);
            if (below is null || FileStatus.TryLstat(Encoding.UTF8.GetBytes(below), out var st) != 0 || st.FileType != Stat.S_IFDIR)
                continue;
            string own = Path.Combine(scaffold, relative);
            // Owner first: chown clears set-id bits, the mode then sets them. An unprivileged run's layers show the caller as owner, as the scaffold already is.
            if (Unistd.geteuid() == 0)
                Unistd.lchown(own, st.Uid, st.Gid);
            File.SetUnixFileMode(own, (UnixFileMode)(st.Mode & 0xFFF));
            Directory.SetLastWriteTimeUtc(own, DateTime.UnixEpoch.AddSeconds(st.MtimeSeconds).AddTicks(st.MtimeNanoseconds / 100));
        }
    }

    /// <summary>
    /// Every path bwrap mounts on inside the root, and whether it is a directory (sources that do
    /// not exist are skipped, as bwrap's -try binds skip them). The scaffold holds each of them,
    /// so no read-only layer below it can turn one into a symlink: in an overlay the topmost
    /// entry of a path decides its type.
    /// </summary>
    public static IEnumerable<(string, bool)> Targets(IEnumerable<SandboxMount> binds, Paths.InstancePaths paths)
    {
        foreach (string dir in new[] { "/dev", "/proc", "/tmp", "/sys" })
            yield return (dir, true);
        var plumbing = paths.ToolDirectories.Select(d => new SandboxMount(SandboxMountKind.ReadOnly, d, d))
            .Append(new SandboxMount(SandboxMountKind.ReadOnly, paths.Bashrc, paths.Bashrc))
            .Append(new SandboxMount(SandboxMountKind.ReadWrite, paths.PortalDaemonDirectory, paths.PortalDaemonDirectory))
            .Append(new SandboxMount(SandboxMountKind.ReadOnly, paths.PortalDispatcherDirectory, paths.PortalDispatcherDirectory));
        foreach (var mount in plumbing.Concat(binds))
        {
            if (mount.Destination.StartsWith("/tmp/", StringComparison.Ordinal) || mount.Destination.StartsWith("/dev/", StringComparison.Ordinal)
                || mount.Destination.StartsWith("/proc/", StringComparison.Ordinal))
                continue; // inside the sandbox's own tmpfs, devtmpfs or proc: bwrap creates them there
            if (Directory.Exists(mount.Source))
                yield return (mount.Destination, true);
            else if (File.Exists(mount.Source))
                yield return (mount.Destination, false);
        }
    }

    /// <summary>
    /// Refuses a run whose writable layer redirects a mount point. The writable layer is the
    /// guest's and sits above the scaffold, so a guest can replace any path on the way to a mount
    /// point with a symlink (to <c>/oldroot/...</c>, which is the host's tree while bwrap sets up);
    /// bwrap would then create its mount point, or mount, on the host. Every component of every
    /// destination is looked at in the writable layer without following links (lstat); a symlink
    /// ends the run with one line naming it, before anything is mounted. Destinations inside the
    /// sandbox's own fresh /tmp, /dev and /proc are checked up to that mount.
    /// </summary>
    /// <exception cref="UnsafeMountTargetException">a component is a symlink in the writable layer.</exception>
    public static void CheckNotRedirected(string upper, IEnumerable<string> destinations)
    {
        foreach (string destination in destinations)
        {
            string host = upper;
            string guest = "";
            foreach (string part in destination.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                host = Path.Combine(host, part);
                guest += "/" + part;
                var info = new FileInfo(host);
                if (info.LinkTarget is not null)
                    throw new UnsafeMountTargetException($"The writable layer makes '{guest}' a symbolic link, on the way to the mount point '{destination}'; refusing to run (remove '{host}' to use the image again)");
                if (!Directory.Exists(host) || guest is "/tmp" or "/dev" or "/proc")
                    break;
            }
        }
    }
}

/// <summary>The writable layer steers a mount point of the sandbox somewhere else.</summary>
public sealed class UnsafeMountTargetException(string message) : Exception(message);
