using FlatImage.Native.Spawn;
using FlatImage.Runtime.Tools;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// The host's cache builders: <c>update-desktop-database</c> (which applications open which types)
/// and <c>update-mime-database</c> (the compiled MIME database that xdg-mime and file managers read).
/// Run only for what changed, and only when installed: the files are correct without them, the
/// desktop just learns about them later.
/// </summary>
public static class DesktopDatabases
{
    /// <summary>Starts the builders the changes call for; the caller waits for (and so reaps) each one.</summary>
    public static List<ChildProcess> Start(DesktopFiles files, DesktopChanges changes)
    {
        var started = new List<ChildProcess>();
        if (changes.Entry || changes.Removed.Contains(files.Entry))
            StartTool(started, "update-desktop-database", ["-q", files.Applications]);
        if (changes.MimeType || changes.Removed.Contains(files.MimePackage))
            StartTool(started, "update-mime-database", [files.MimeRoot]);
        return started;
    }

    /// <summary>Waits until every builder ended or <paramref name="deadline"/> passed; a straggler is killed and reaped.</summary>
    public static void Wait(IEnumerable<ChildProcess> children, DateTime deadline)
    {
        foreach (var child in children)
        {
            using (child)
            {
                var left = deadline - DateTime.UtcNow;
                child.Stop(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            }
        }
    }

    private static void StartTool(List<ChildProcess> started, string name, string[] arguments)
    {
        // The host's own tool: the bundled bin/ never carries these.
        string? tool = HostTools.Find(name, bundledBin: null);
        if (tool is null || !Directory.Exists(arguments[^1]))
            return;
        using SafeFileHandle devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
        started.Add(ChildProcess.Start(tool, [tool, .. arguments], ChildProcess.EnvironmentWith(), [(devNull, 0), (devNull, 1), (devNull, 2)]));
    }
}
