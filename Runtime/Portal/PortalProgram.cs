using FlatImage.Runtime.Paths;

namespace FlatImage.Runtime.Portal;

/// <summary>
/// Where a run finds <c>fim_portal</c> for its guest — decided here and nowhere else. The tools
/// bundle extracts it into <c>$FIM_DIR_APP_BIN</c>, bound into every guest with the loader and
/// libraries it needs, so it runs whatever the guest's libc is (or without one). When the bundle is
/// unusable (none in the image, or a noexec runtime directory) the program runs without the
/// daemon: bwrap's init starts it directly, and <c>fim-instance exec</c> cannot reach the instance.
/// </summary>
public static class PortalProgram
{
    public const string FileName = "fim_portal";

    /// <summary>The guest path of fim_portal for this run (the same path on the host), or null when there is none.</summary>
    /// <param name="bundledToolsUsable">the image's tools bundle is extracted and executable (ToolsExtractor.Ensure).</param>
    public static string? Locate(InstancePaths paths, bool bundledToolsUsable)
    {
        string bundled = Path.Combine(paths.AppBin, FileName);
        return bundledToolsUsable && File.Exists(bundled) ? bundled : null;
    }
}
