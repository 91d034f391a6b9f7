namespace FlatImage.Runtime.Config;

/// <summary>The names users type and the configuration stores, for each flags enum.</summary>
public static class ConfigNames
{
    public static readonly FlagNames<Permissions> Permissions = new(
        ("home", Config.Permissions.Home), ("media", Config.Permissions.Media), ("audio", Config.Permissions.Audio),
        ("wayland", Config.Permissions.Wayland), ("xorg", Config.Permissions.Xorg), ("dbus_user", Config.Permissions.DbusUser),
        ("dbus_system", Config.Permissions.DbusSystem), ("udev", Config.Permissions.Udev), ("usb", Config.Permissions.Usb),
        ("input", Config.Permissions.Input), ("gpu", Config.Permissions.Gpu), ("network", Config.Permissions.Network),
        ("shm", Config.Permissions.Shm), ("optical", Config.Permissions.Optical), ("dev", Config.Permissions.Dev),
        ("portal", Config.Permissions.Portal));

    public static readonly FlagNames<UnshareOptions> Unshare = new(
        ("user", UnshareOptions.User), ("ipc", UnshareOptions.Ipc), ("pid", UnshareOptions.Pid),
        ("net", UnshareOptions.Net), ("uts", UnshareOptions.Uts), ("cgroup", UnshareOptions.Cgroup));

    public static string Format(OverlayKind kind) => kind switch
    {
        OverlayKind.Overlayfs => "overlayfs",
        OverlayKind.Unionfs => "unionfs",
        _ => "bwrap",
    };

    /// <summary>Exact, lower-case match as <c>FIM_OVERLAY</c> requires; the CLI lower-cases keywords itself.</summary>
    public static OverlayKind? ParseOverlay(string value) => value switch
    {
        "bwrap" => OverlayKind.Bwrap,
        "overlayfs" => OverlayKind.Overlayfs,
        "unionfs" => OverlayKind.Unionfs,
        _ => null,
    };

    public static string Format(BindType type) => type switch
    {
        BindType.ReadWrite => "rw",
        BindType.Device => "dev",
        _ => "ro",
    };

    /// <summary>Bind types are keywords: case-insensitive.</summary>
    public static BindType? ParseBindType(string value) => value.ToLowerInvariant() switch
    {
        "ro" => BindType.ReadOnly,
        "rw" => BindType.ReadWrite,
        "dev" => BindType.Device,
        _ => null,
    };
}
