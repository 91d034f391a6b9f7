using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// The janitor: a small process that outlives a launcher killed with SIGKILL and removes what it
/// left mounted. A run's janitor is the bundled fim_portal in janitor mode (a 2 MB program that
/// starts in about 3 ms of CPU, against about 13 ms for the launcher, on the cores the run is
/// starting on); where the bundle cannot run, and for <c>fim-layer mount</c>, it is the launcher. docs/architecture.md explains why fusermount3's
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
    /// <summary>Whether this process was started as a janitor (<see cref="JanitorProcess.Start"/> sets the variable).</summary>
    public static bool Requested => Environment.GetEnvironmentVariable(JanitorProcess.ModeVariable) == "1";

    /// <summary>
    /// The janitor process's whole life, for the Main of either program that can be one. Its own
    /// session, so a Ctrl-C aimed at the program's process group does not reach it.
    /// </summary>
    public static int RunInOwnSession()
    {
        Unistd.setsid();
        // Standard input read as a plain file: Console.In would bring the terminal machinery
        // into fim_portal for a pipe that carries a few lines.
        using var input = new StreamReader(new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 1));
        Run(input);
        return 0;
    }

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
