using System.Globalization;
using FlatImage.Native.Fuse;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// On every start, removes what launchers that died left behind in this build's instance
/// directory: mounts still attached below <c>instance/&lt;pid&gt;/</c> (detached lazily, deepest
/// first) and the directories themselves — for every pid that no longer runs.
/// </summary>
public static class DeadInstances
{
    public static void Clean(string instancesRoot)
    {
        if (!Directory.Exists(instancesRoot))
            return;
        foreach (string dir in Directory.EnumerateDirectories(instancesRoot))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                || pid == Environment.ProcessId || IsAlive(pid))
                continue;
            // Only while holding its lock: the pid may be reused by a launcher starting right now.
            using var held = InstanceLock.TryAcquireDead(dir);
            if (held is null)
                continue;
            foreach (string mount in FuseMount.MountpointsBelow(dir).OrderByDescending(m => m.Length))
                FuseMount.DetachLazily(mount);
            TreeRemover.RemoveWithoutCrossingMounts(dir);
        }
    }

    /// <summary>A pid runs if /proc has it (kill(pid, 0) would also say so, but not for another user's pid without EPERM games).</summary>
    public static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid}");
}
