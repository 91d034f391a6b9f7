using System.Text;
using FlatImage.Runtime.Image;

namespace FlatImage.Runtime.Config;

/// <summary>
/// FlatImage's per-section limits (docs/cli.md §2), checked before anything is written so an oversized
/// value fails with the spec's message and leaves the image as it was. The slot itself bounds the total.
/// </summary>
public static class ConfigLimits
{
    public const int Boot = 8 * 1024;
    public const int Environment = 1024 * 1024;
    public const int Bindings = 1024 * 1024;
    public const int Remote = 4 * 1024;

    public static void Check(ImageConfig config)
    {
        if (Utf8(config.Boot.Program) + config.Boot.Args.Sum(a => Utf8(a) + 4) > Boot)
            throw new ConfigTooLargeException();
        if (config.Environment.Sum(e => Utf8(e.Key) + Utf8(e.Value) + 6) > Environment)
            throw new ConfigTooLargeException();
        if (config.Bindings.Sum(b => Utf8(b.Value.Source) + Utf8(b.Value.Destination) + 40) > Bindings)
            throw new ConfigTooLargeException();
        if (config.Desktop is { } desktop
            && Utf8(desktop.Name) + desktop.Categories.Sum(c => Utf8(c) + 4) + 64 > Desktop.DesktopIntegration.MaxJsonBytes)
            throw new ConfigTooLargeException();
        if (config.RemoteUrl is { } url && Utf8(url) > Remote)
            throw new ConfigTooLargeException("Not enough space to fit remote URL");
    }

    private static int Utf8(string s) => Encoding.UTF8.GetByteCount(s);
}
