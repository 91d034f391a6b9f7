namespace FlatImage.Runtime.Config;

/// <summary>
/// What the sandbox may see of the host (docs/cli.md §4). Default: none. The declaration order is
/// the order in which the sandbox applies them; <see cref="PermissionNames"/> lists them sorted.
/// </summary>
[Flags]
public enum Permissions : ulong
{
    None = 0,
    Home = 1UL << 0,
    Media = 1UL << 1,
    Audio = 1UL << 2,
    Wayland = 1UL << 3,
    Xorg = 1UL << 4,
    DbusUser = 1UL << 5,
    DbusSystem = 1UL << 6,
    Udev = 1UL << 7,
    Usb = 1UL << 8,
    Input = 1UL << 9,
    Gpu = 1UL << 10,
    Network = 1UL << 11,
    Shm = 1UL << 12,
    Optical = 1UL << 13,
    Dev = 1UL << 14,
    /// <summary>This project only: lets fim_portal run host commands (§16b).</summary>
    Portal = 1UL << 15,
    All = (1UL << 16) - 1,
}
