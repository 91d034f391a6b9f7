namespace FlatImage.Runtime.Config;

/// <summary>The stored configuration as overridden for one run by the launcher's environment (docs/cli.md §7).</summary>
public static class EffectiveSettings
{
    /// <summary><c>FIM_CASEFOLD=1</c> forces casefold on for this run.</summary>
    public static bool Casefold(ImageConfig config) =>
        config.Casefold || Environment.GetEnvironmentVariable("FIM_CASEFOLD") == "1";

    /// <summary>
    /// <c>FIM_OVERLAY</c> (exact lower-case values; others ignored), else the stored kind. Casefold
    /// cannot sit on the kernel overlay, so with casefold active bwrap becomes unionfs.
    /// </summary>
    public static OverlayKind Overlay(ImageConfig config, out bool casefoldFallback)
    {
        var kind = ConfigNames.ParseOverlay(Environment.GetEnvironmentVariable("FIM_OVERLAY") ?? "") ?? config.Overlay;
        casefoldFallback = kind == OverlayKind.Bwrap && Casefold(config);
        return casefoldFallback ? OverlayKind.Unionfs : kind;
    }
}
