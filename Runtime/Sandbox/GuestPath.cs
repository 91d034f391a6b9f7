namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// Resolves paths inside the guest's tree as seen from the host (the merged root), following
/// symlinks as the guest would: an absolute link target is relative to the guest's root, never
/// the host's, and ".." stops at the root. Bind mounts (guest directory → host directory, such as
/// the bundled tools' directories) are seen where the guest will see them.
/// </summary>
public static class GuestPath
{
    private const int MaxLinks = 40; // as the kernel's ELOOP limit

    /// <summary>The host path of <paramref name="guestPath"/> under <paramref name="root"/> with every symlink followed, or null if it does not exist.</summary>
    public static string? Resolve(string root, string guestPath, IReadOnlyList<GuestBind>? binds = null)
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
            string guest = "/" + string.Join('/', [.. resolved, part]);
            if (binds is not null && binds.Any(b => b.Guest.StartsWith(guest + "/", StringComparison.Ordinal)))
            {
                // Above a bind: bwrap creates the directories leading to its mount point.
                resolved.Add(part);
                continue;
            }
            string host = HostPath(root, guest, binds);
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
        return HostPath(root, "/" + string.Join('/', resolved), binds);
    }

    /// <summary>Where a guest path (already free of links, "." and "..") lies on the host: below the deepest bind that covers it, else below the root.</summary>
    private static string HostPath(string root, string guest, IReadOnlyList<GuestBind>? binds)
    {
        GuestBind? best = null;
        foreach (var bind in binds ?? [])
        {
            string at = bind.Guest.TrimEnd('/');
            if ((guest == at || guest.StartsWith(at + "/", StringComparison.Ordinal)) && (best is null || at.Length > best.Guest.TrimEnd('/').Length))
                best = bind;
        }
        return best is null
            ? Path.Combine(root, guest.TrimStart('/'))
            : best.Host.TrimEnd('/') + guest[best.Guest.TrimEnd('/').Length..];
    }

    /// <summary>
    /// The program as the shell would find it: a name with a '/' is taken as it is, anything else is
    /// looked up on the guest PATH. Returns the guest path, or null when not found; <paramref name="executable"/>
    /// says whether it may be executed (126 otherwise). <paramref name="binds"/> are host directories
    /// bound into the guest (the tools, fim_portal, fim-bind): they are seen where the guest sees them.
    /// </summary>
    public static string? FindProgram(string root, string program, string pathVariable, out bool executable, IReadOnlyList<GuestBind>? binds = null)
    {
        executable = false;
        IEnumerable<string> candidates = program.Contains('/')
            ? [program.StartsWith('/') ? program : "/" + program]
            : pathVariable.Split(':', StringSplitOptions.RemoveEmptyEntries).Where(d => d.StartsWith('/')).Select(d => d.TrimEnd('/') + "/" + program);
        foreach (string candidate in candidates)
        {
            if (Resolve(root, candidate, binds) is not { } host)
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
