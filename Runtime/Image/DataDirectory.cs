using FlatImage.Runtime.Paths;

namespace FlatImage.Runtime.Image;

/// <summary>The data directory of an image (docs/cli.md §2): <c>$FIM_DIR_DATA</c>, else <c>&lt;dir of IMG&gt;/.&lt;NAME&gt;.data</c>.</summary>
public static class DataDirectory
{
    public static string For(string imagePath)
    {
        string? configured = Environment.GetEnvironmentVariable("FIM_DIR_DATA");
        if (!string.IsNullOrEmpty(configured))
            return Path.GetFullPath(configured);
        return Path.Combine(Path.GetDirectoryName(imagePath)!, $".{Path.GetFileName(imagePath)}.data");
    }

    public static string LayersOf(string dataDirectory) => Path.Combine(dataDirectory, "layers");

    /// <summary>
    /// The data directory a run uses, created private (0700: it holds the guest's writable layer,
    /// where a root caller's guest can leave setuid-root files that no other user may reach) and
    /// refused, in one line, when it is not the caller's own (see <see cref="RuntimeDirectory.EnsureOwned"/>).
    /// When the image sits where the user cannot write (a read-only mount, a system directory) and
    /// <c>FIM_DIR_DATA</c> is not set, the writable layer goes to
    /// <c>$XDG_DATA_HOME/flatimage/&lt;NAME&gt;.data</c> instead, so the image still runs.
    /// </summary>
    public static string CreateForRun(string imagePath)
    {
        string preferred = For(imagePath);
        try
        {
            return RuntimeDirectory.EnsureOwned(preferred, "data directory", RuntimeDirectory.OwnedDirectory.Tightened);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FIM_DIR_DATA")))
        {
            string fallback = FallbackFor(imagePath);
            Directory.CreateDirectory(Path.GetDirectoryName(fallback)!);
            return RuntimeDirectory.EnsureOwned(fallback, "data directory", RuntimeDirectory.OwnedDirectory.Tightened);
        }
    }

    /// <summary>
    /// The data directory a run would have used, without creating anything: for commands that only
    /// read what runs left there (the recipe cache).
    /// </summary>
    public static string Existing(string imagePath)
    {
        string preferred = For(imagePath);
        if (Directory.Exists(preferred) || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("FIM_DIR_DATA")))
            return preferred;
        string fallback = FallbackFor(imagePath);
        return Directory.Exists(fallback) ? fallback : preferred;
    }

    private static string FallbackFor(string imagePath)
    {
        string home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : "/";
        string dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } x ? x : Path.Combine(home, ".local", "share");
        return Path.Combine(dataHome, "flatimage", $"{Path.GetFileName(imagePath)}.data");
    }
}
