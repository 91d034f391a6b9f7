using System.Diagnostics;

namespace FlatImage.Tests.Shared;

/// <summary>
/// Describes a directory tree as sorted text lines, through the same tools a user would use
/// (find, stat, sha256sum, getfattr), so that a source tree and its mounted layer can be compared
/// path by path: type, mode, owner, size, mtime (ns), link target, device numbers, content hash,
/// hard-link identity (paths that share an inode get the same group name) and xattrs.
/// </summary>
internal static class TreeManifest
{
    private const string Script = """
        set -e
        cd "$1"
        echo '## entries'
        find . -mindepth 1 -printf '%P\t%y\t%m\t%U:%G\t%s\t%T@\t%l\t%n\t%i\n' | LC_ALL=C sort
        echo '## devices'
        find . -mindepth 1 \( -type c -o -type b \) -exec stat -c '%n %t:%T' {} + | LC_ALL=C sort
        echo '## contents'
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
        echo '## xattrs'
        find . -mindepth 1 -print0 | LC_ALL=C sort -z | xargs -0 getfattr -h -d -m - --absolute-names 2>/dev/null | grep -v '^$' || true
        """;

    /// <summary>The manifest of <paramref name="dir"/>, read with <paramref name="runAs"/> prepended to the command (e.g. setpriv ...).</summary>
    public static List<string> Of(string dir, params string[] runAs)
    {
        var psi = new ProcessStartInfo(runAs.Length > 0 ? runAs[0] : "bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in runAs.Skip(1)) psi.ArgumentList.Add(a);
        if (runAs.Length > 0) psi.ArgumentList.Add("bash");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Script);
        psi.ArgumentList.Add("manifest");
        psi.ArgumentList.Add(dir);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        while (p.StandardOutput.ReadLine() is { } line) lines.Add(line);
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"manifest of {dir} failed: {stderr.Result}");
        return Normalize(lines);
    }

    /// <summary>Inode numbers become hard-link groups; directory sizes and link counts are the source filesystem's business.</summary>
    private static List<string> Normalize(List<string> lines)
    {
        var groups = new Dictionary<string, string>();
        var result = new List<string>(lines.Count);
        bool entries = false;
        foreach (var line in lines)
        {
            if (line.StartsWith("## ", StringComparison.Ordinal)) entries = line == "## entries";
            if (!entries || line.StartsWith("## ", StringComparison.Ordinal) || line.StartsWith("# file:", StringComparison.Ordinal))
            {
                result.Add(line);
                continue;
            }
            var f = line.Split('\t');
            if (f[1] == "d")
            {
                f[4] = "-";
                f[7] = "-";
            }
            if (!groups.TryGetValue(f[8], out var group)) groups[f[8]] = group = f[0];
            f[8] = group;
            result.Add(string.Join('\t', f));
        }
        return result;
    }

    /// <summary>Replaces the owner column of every entry, for a mount that presents one owner.</summary>
    public static List<string> WithOwner(List<string> manifest, string owner)
    {
        bool entries = false;
        return manifest.Select(line =>
        {
            if (line.StartsWith("## ", StringComparison.Ordinal)) entries = line == "## entries";
            if (!entries || line.StartsWith("## ", StringComparison.Ordinal)) return line;
            var f = line.Split('\t');
            f[3] = owner;
            return string.Join('\t', f);
        }).ToList();
    }

    /// <summary>Asserts equality with the first differing line in the message.</summary>
    public static void Equal(List<string> expected, List<string> actual)
    {
        for (int i = 0; i < Math.Min(expected.Count, actual.Count); i++)
            Xunit.Assert.True(expected[i] == actual[i], $"line {i}:\n expected: {expected[i]}\n actual:   {actual[i]}");
        Xunit.Assert.Equal(expected.Count, actual.Count);
    }
}
