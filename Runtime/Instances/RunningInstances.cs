using System.Globalization;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// The running instances of this launcher build (docs/cli.md §3.12): the directories
/// <c>instance/&lt;pid&gt;</c> whose pid is alive, without the caller, by pid ascending. An
/// instance's id is its position in that list, so ids shift when an earlier instance exits.
/// </summary>
public static class RunningInstances
{
    public static IReadOnlyList<int> List(string instancesRoot)
    {
        if (!Directory.Exists(instancesRoot))
            return [];
        var pids = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories(instancesRoot))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                && pid != Environment.ProcessId && DeadInstances.IsAlive(pid))
                pids.Add(pid);
        }
        pids.Sort();
        return pids;
    }
}
