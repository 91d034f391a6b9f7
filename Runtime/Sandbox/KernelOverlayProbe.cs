using System.Text;
using FlatImage.Native.Spawn;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Tools;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// Whether the <c>bwrap</c> overlay (the kernel's overlayfs, mounted by bubblewrap inside the
/// sandbox's user namespace) works for an image's writable layer on this kernel. bwrap needs the
/// overlay options (bubblewrap &gt;= 0.9), and the kernel must allow an unprivileged overlay mount
/// (Linux &gt;= 5.11) with an upper directory on the data directory's filesystem (which must take
/// user.* extended attributes in a user namespace, trusted.* as root).
///
/// A failed overlay mount makes bwrap exit before the program starts, and that exit cannot be
/// told apart from the program's own; so the question is asked once, with a throwaway overlay of
/// the same kind next to the writable layer, and the answer is kept in the data directory keyed
/// by the kernel release and the bwrap. Later runs read one small file. A refusal is said once, when it is found.
/// </summary>
public static class KernelOverlayProbe
{
    private const string AnswerFile = ".kernel-overlay";

    /// <param name="bwrap">the bwrap the run uses.</param>
    /// <param name="workRoot">the data directory's <c>work/</c> (same filesystem as the writable layer).</param>
    /// <param name="userNamespace">the run mounts in a user namespace of its own (an unprivileged caller).</param>
    /// <param name="warn">receives the one line said when the kernel overlay is found not to work.</param>
    public static bool Works(string bwrap, string workRoot, bool userNamespace, Action<string> warn)
    {
        string key = $"{KernelRelease()} {bwrap}";
        string answerPath = Path.Combine(workRoot, AnswerFile + (userNamespace ? "-userns" : "-root"));
        if (ReadAnswer(answerPath) is { } known && known.Key == key)
            return known.Works;

        string? refusal = HostTools.BwrapHasOverlay(bwrap)
            ? Try(bwrap, workRoot, userNamespace)
            : $"{bwrap} has no overlay support, which needs bubblewrap >= 0.9";
        string temp = answerPath + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, $"{key}\n{(refusal is null ? "yes" : "no")}\n");
        File.Move(temp, answerPath, overwrite: true);
        if (refusal is not null)
            warn($"The bwrap overlay does not work here ({refusal}), using fuse-overlayfs");
        return refusal is null;
    }

    /// <summary>Mounts a throwaway overlay as the run would; null when it worked, else bwrap's reason.</summary>
    private static string? Try(string bwrap, string workRoot, bool userNamespace)
    {
        string probe = Path.Combine(workRoot, $"probe-{Environment.ProcessId}");
        TreeRemover.RemoveWithoutCrossingMounts(probe);
        try
        {
            foreach (string dir in new[] { "lower", "upper", "work" })
                Directory.CreateDirectory(Path.Combine(probe, dir));
            string lower = Path.Combine(probe, "lower");
            // Always in a user namespace: bubblewrap 0.12 makes one for root's runs too, and an
            // unprivileged caller's needs one to mount at all.
            var argv = new List<string> { bwrap, "--die-with-parent", "--unshare-user", "--uid", "0", "--gid", "0" };
            // The host's root, read-only, as the new root: the overlay goes onto the probe's own
            // lower directory inside it, and bwrap itself is there to run as the "program".
            argv.AddRange(["--ro-bind", "/", "/", "--overlay-src", lower,
                "--overlay", Path.Combine(probe, "upper"), Path.Combine(probe, "work"), lower, "--", bwrap, "--version"]);
            string output = Path.Combine(probe, "output");
            using (var log = File.OpenHandle(output, FileMode.Create, FileAccess.Write))
            using (var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read))
            using (var child = ChildProcess.Start(bwrap, argv, ChildProcess.EnvironmentWith(), [(devNull, 0), (log, 1), (log, 2)]))
            {
                int? status = child.WaitForExit(TimeSpan.FromSeconds(10));
                if (status is null)
                {
                    child.Kill(9);
                    child.WaitForExit(TimeSpan.FromSeconds(2));
                    return "bwrap did not answer within 10 s";
                }
                if (Native.Interop.Wait.WIFEXITED(status.Value) && Native.Interop.Wait.WEXITSTATUS(status.Value) == 0)
                    return null;
                string said = File.ReadAllText(output).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith("bwrap:", StringComparison.Ordinal)) ?? "";
                return said.Length > 0 ? said : ChildProcess.Describe(status.Value);
            }
        }
        finally
        {
            TreeRemover.RemoveWithoutCrossingMounts(probe);
        }
    }

    private static (string Key, bool Works)? ReadAnswer(string path)
    {
        try
        {
            string[] lines = File.ReadAllLines(path);
            return lines.Length >= 2 && lines[1] is "yes" or "no" ? (lines[0], lines[1] == "yes") : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string KernelRelease()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
