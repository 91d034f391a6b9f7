namespace FlatImage.Runtime.Tools;

/// <summary>
/// Finds the helper programs a run needs: the bundled copy in this build's <c>bin/</c> first
/// (the tools bundle), then the host's PATH as a fallback.
/// </summary>
public static class HostTools
{
    public static string? Find(string name, string? bundledBin)
    {
        if (bundledBin is not null && IsExecutable(Path.Combine(bundledBin, name)))
            return Path.Combine(bundledBin, name);
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (IsExecutable(candidate))
                return candidate;
        }
        foreach (string dir in new[] { "/usr/bin", "/bin", "/usr/sbin", "/sbin" })
            if (IsExecutable(Path.Combine(dir, name)))
                return Path.Combine(dir, name);
        return null;
    }

    /// <summary>
    /// Whether this bwrap has the kernel overlay options (bwrap &gt;= 0.9). Its help text names them;
    /// looking for the option in the binary avoids running a process just to ask.
    /// </summary>
    public static bool BwrapHasOverlay(string bwrap)
    {
        try
        {
            return File.ReadAllBytes(bwrap).AsSpan().IndexOf("--overlay-src"u8) >= 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

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
}
