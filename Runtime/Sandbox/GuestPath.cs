namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// Resolves paths inside the guest's tree as seen from the host (the merged root), following
/// symlinks as the guest would: an absolute link target is relative to the guest's root, never
/// the host's, and ".." stops at the root.
/// </summary>
public static class GuestPath
{
    private const int MaxLinks = 40; // as the kernel's ELOOP limit

    /// <summary>The host path of <paramref name="guestPath"/> under <paramref name="root"/> with every symlink followed, or null if it does not exist.</summary>
    public static string? Resolve(string root, string guestPath)
    {
        var parts = new Stack<string>(Split(guestPath).Reverse());
        var resolved = new List<string>();
        int links = 0;
        while (parts.Count > 0)
        {
            string part = parts.Pop();
            if (part == ".")
                continue;
            if (part == "..")
            {
                if (resolved.Count > 0)
                    resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            string host = Path.Combine(root, Path.Combine([.. resolved, part]));
            var info = new FileInfo(host);
            if (info.LinkTarget is { } target)
            {
                if (++links > MaxLinks)
                    return null;
                if (target.StartsWith('/'))
                    resolved.Clear();
                foreach (string p in Split(target).Reverse())
                    parts.Push(p);
                continue;
            }
            if (!info.Exists && !Directory.Exists(host))
                return null;
            resolved.Add(part);
        }
        return Path.Combine(root, Path.Combine([.. resolved]));
    }

    /// <summary>
    /// The program as the shell would find it: a name with a '/' is taken as it is, anything else is
    /// looked up on the guest PATH. Returns the guest path, or null when not found; <paramref name="executable"/>
    /// says whether it may be executed (126 otherwise). <paramref name="boundDirectories"/> are host
    /// directories bound into the guest at the same paths (the tools, fim_portal): below them the
    /// host path is the guest path.
    /// </summary>
    public static string? FindProgram(string root, string program, string pathVariable, out bool executable, IReadOnlyList<string>? boundDirectories = null)
    {
        executable = false;
        IEnumerable<string> candidates = program.Contains('/')
            ? [program.StartsWith('/') ? program : "/" + program]
            : pathVariable.Split(':', StringSplitOptions.RemoveEmptyEntries).Where(d => d.StartsWith('/')).Select(d => d.TrimEnd('/') + "/" + program);
        foreach (string candidate in candidates)
        {
            string? host = boundDirectories?.Any(d => candidate.StartsWith(d + "/", StringComparison.Ordinal)) == true
                ? (File.Exists(candidate) || Directory.Exists(candidate) ? candidate : null)
                : Resolve(root, candidate);
            if (host is null)
                continue;
            if (Directory.Exists(host))
            {
                // A directory named with a path cannot be executed (the shell's 126); on PATH it is skipped.
                if (program.Contains('/'))
                    return candidate;
                continue;
            }
            executable = (File.GetUnixFileMode(host) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
            return candidate;
        }
        return null;
    }

    private static IEnumerable<string> Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);
}
