using FlatImage.Runtime.Paths;

namespace FlatImage.Runtime.Portal;

/// <summary>
/// Where a run finds <c>fim_portal</c> for its guest — decided here and nowhere else. The tools
/// bundle extracts it into <c>$FIM_DIR_APP_BIN</c>, bound into every guest with the loader and
/// libraries it needs. A development build without the bundle may name a glibc build of it in
/// <c>FIM_TEST_PORTAL</c>: it is copied into the instance's portal directory (bound read-only),
/// which only works in guests that have glibc. Without either, the program runs without the
/// daemon: bwrap's init starts it directly, and <c>fim-instance exec</c> cannot reach the instance.
/// </summary>
public static class PortalProgram
{
    public const string FileName = "fim_portal";

    /// <summary>Development hook: a host path of fim_portal to use when the image bundles none.</summary>
    public const string DevelopmentVariable = "FIM_TEST_PORTAL";

    /// <summary>The guest path of fim_portal for this run (the same path on the host), or null when there is none.</summary>
    /// <param name="bundledToolsUsable">the image's tools bundle is extracted and executable (ToolsExtractor.Ensure).</param>
    public static string? Locate(InstancePaths paths, bool bundledToolsUsable)
    {
        string bundled = Path.Combine(paths.AppBin, FileName);
        if (bundledToolsUsable && File.Exists(bundled))
            return bundled;
        if (Environment.GetEnvironmentVariable(DevelopmentVariable) is { Length: > 0 } development && File.Exists(development))
        {
            string copy = Path.Combine(RuntimeDirectory.CreateChild(paths.PortalBin), FileName);
            File.Copy(development, copy, overwrite: true);
            File.SetUnixFileMode(copy, (UnixFileMode)0b111_101_101);
            return copy;
        }
        return null;
    }
}
