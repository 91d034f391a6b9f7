using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>
/// A `debootstrap --variant=minbase bookworm` tree, built once and cached as a tarball under
/// $FIM_TEST_CACHE (default /var/cache/flatimage-tests) with an extracted copy next to it.
/// The mirror is the one apt is configured with. If the tree cannot be built, every test
/// using it fails with the reason: a missing tree must never look like a pass.
/// </summary>
public sealed class DebianTreeFixture
{
    public DebianTreeFixture()
    {
        string cache = Environment.GetEnvironmentVariable("FIM_TEST_CACHE") is { Length: > 0 } c ? c : "/var/cache/flatimage-tests";
        Directory.CreateDirectory(cache);
        TreePath = Path.Combine(cache, "bookworm-minbase");
        string tar = TreePath + ".tar";
        string marker = TreePath + ".ok";
        if (File.Exists(marker) && Directory.Exists(TreePath))
            return;
        using var lockFile = new FileStream(Path.Combine(cache, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        if (File.Exists(marker) && Directory.Exists(TreePath))
            return;
        string staging = TreePath + ".tmp";
        Remove(staging);
        Remove(TreePath);
        if (!File.Exists(tar))
        {
            string mirror = FindMirror();
            Run("debootstrap", ["--variant=minbase", "bookworm", staging, mirror],
                $"debootstrap from {mirror} failed (network or mirror unavailable?)");
            Run("tar", ["--xattrs", "--xattrs-include=*", "--numeric-owner", "-cf", tar + ".tmp", "-C", staging, "."], "tar of the Debian tree failed");
            File.Move(tar + ".tmp", tar, overwrite: true);
            Directory.Move(staging, TreePath);
        }
        else
        {
            Directory.CreateDirectory(staging);
            Run("tar", ["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", tar, "-C", staging], "extracting the cached Debian tree failed");
            Directory.Move(staging, TreePath);
        }
        File.WriteAllText(marker, "");
    }

    public string TreePath { get; }

    /// <summary>The first http(s) URI of a Debian "main" repository in apt's configuration.</summary>
    private static string FindMirror()
    {
        var files = new List<string>();
        if (File.Exists("/etc/apt/sources.list"))
            files.Add("/etc/apt/sources.list");
        if (Directory.Exists("/etc/apt/sources.list.d"))
            files.AddRange(Directory.GetFiles("/etc/apt/sources.list.d").Where(f => f.EndsWith(".list") || f.EndsWith(".sources")).Order());
        foreach (string file in files)
        {
            foreach (string raw in File.ReadAllLines(file))
            {
                string line = raw.Trim();
                if (line.StartsWith('#'))
                    continue;
                // One-line style: "deb [opts] http://host/debian suite comp"; deb822 style: "URIs: http://host/debian".
                var m = Regex.Match(line, @"^(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s*)(https?://\S+)");
                if (m.Success && !m.Groups[1].Value.Contains("security") && !m.Groups[1].Value.Contains("-updates"))
                    return m.Groups[1].Value.TrimEnd('/');
            }
        }
        return "http://deb.debian.org/debian";
    }

    private static void Run(string file, string[] arguments, string failure)
    {
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        string args = string.Join(' ', arguments);
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{failure}: cannot run {file}: {e.Message}");
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"{failure}: {file} {args} exited {p.ExitCode}: {stderr} {stdout.Result[^Math.Min(2000, stdout.Result.Length)..]}");
        }
    }

    private static void Remove(string path)
    {
        if (Directory.Exists(path))
            Run("rm", ["-rf", "--one-file-system", path], $"cannot remove {path}");
    }
}
