using FlatImage.Native.Io;

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
        // The usual system directories after PATH: a launcher started with a trimmed PATH (a
        // desktop entry, a cron job) still finds a host tool installed there.
        return ExecutableSearch.OnProcessPath(name, ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]);
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

    public static bool IsExecutable(string path) => ExecutableSearch.IsExecutable(path);
}
