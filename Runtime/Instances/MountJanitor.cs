using FlatImage.Native.Fuse;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// The janitor: a small process (the launcher binary in janitor mode) that outlives a launcher
/// killed with SIGKILL and removes what it left mounted. docs/architecture.md explains why fusermount3's
/// auto_unmount is not enough: its watchdog cannot probe a mount made without allow_other and
/// leaves it in place.
///
/// Protocol, on the janitor's stdin (a pipe whose only writer is the launcher): one line per
/// event, <c>mount &lt;path&gt;</c> when a mount appears, <c>unmount &lt;path&gt;</c> when the launcher
/// removed it itself, <c>remove &lt;dir&gt;</c> for a directory to delete at the end. End of file means
/// the launcher is gone, cleanly or not: every mount still listed is detached lazily, newest
/// (top of the stack) first, then the directories are removed without ever crossing a mount.
/// </summary>
public static class MountJanitor
{
    public static void Run(TextReader input)
    {
        var mounts = new List<string>();
        var directories = new List<string>();
        while (input.ReadLine() is { } line)
        {
            int space = line.IndexOf(' ');
            if (space < 0)
                continue;
            string verb = line[..space], path = line[(space + 1)..];
            if (!Path.IsPathRooted(path))
                continue;
            switch (verb)
            {
                case "mount": mounts.Add(path); break;
                case "unmount": mounts.Remove(path); break;
                case "remove": directories.Add(path); break;
            }
        }
        for (int i = mounts.Count - 1; i >= 0; i--)
            FuseMount.DetachLazily(mounts[i]);
        foreach (string dir in directories)
        {
            // An instance directory is removed only under its lock: its pid may already belong to a new launcher.
            bool isInstance = File.Exists(Path.Combine(dir, InstanceLock.FileName));
            using var held = isInstance ? InstanceLock.TryAcquireDead(dir) : null;
            if (isInstance && held is null)
                continue;
            TreeRemover.RemoveWithoutCrossingMounts(dir);
        }
    }
}
