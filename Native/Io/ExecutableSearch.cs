namespace FlatImage.Native.Io;

/// <summary>
/// Finding a program the way a shell's PATH search does, for every place the launcher looks for
/// one (its helper tools, fusermount3, a portal command on the host): one rule, in one place.
/// </summary>
public static class ExecutableSearch
{
    /// <summary>
    /// A regular file (after symlinks) with an execute bit. A dangling symlink is not one: .NET's
    /// File.Exists answers true for the link itself, and asking its mode then throws.
    /// </summary>
    public static bool IsExecutable(string path)
    {
        try
        {
            return File.Exists(path) && (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The first executable <paramref name="name"/> in the directories of <paramref name="searchPath"/> (colon-separated), then of <paramref name="fallbacks"/>; null when there is none.</summary>
    public static string? OnPath(string name, string searchPath, IEnumerable<string>? fallbacks = null)
    {
        foreach (string dir in searchPath.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(fallbacks ?? []))
        {
            string candidate = Path.Combine(dir, name);
            if (IsExecutable(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary><see cref="OnPath"/> over this process's PATH (<c>/usr/bin:/bin</c> when unset).</summary>
    public static string? OnProcessPath(string name, IEnumerable<string>? fallbacks = null) =>
        OnPath(name, Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin", fallbacks);
}
