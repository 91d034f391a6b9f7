using FlatImage.Runtime.Config;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// What each permission grants (docs/cli.md §4, §16d): the host paths it binds and the variables it
/// sets. Without the permission the sandbox sees none of it, and the host variables that point at
/// that service are dropped from the environment (<see cref="ServiceVariables"/>).
/// </summary>
public static class HostServices
{
    /// <summary>Host variables that lead to a host service, and the permission that lets each through (None: never).</summary>
    public static readonly IReadOnlyList<(string Name, Permissions Permission)> ServiceVariables =
    [
        ("DISPLAY", Permissions.Xorg), ("XAUTHORITY", Permissions.Xorg),
        ("WAYLAND_DISPLAY", Permissions.Wayland),
        ("DBUS_SESSION_BUS_ADDRESS", Permissions.DbusUser), ("DBUS_SYSTEM_BUS_ADDRESS", Permissions.DbusSystem),
        ("PULSE_SERVER", Permissions.Audio),
        ("SSH_AUTH_SOCK", Permissions.None), ("GPG_AGENT_INFO", Permissions.None),
    ];

    /// <summary>True when a host variable may pass into the sandbox under <paramref name="granted"/>.</summary>
    public static bool MayPass(string name, Permissions granted)
    {
        if (name.StartsWith("XDG_SESSION_", StringComparison.Ordinal))
            return false;
        foreach (var (n, p) in ServiceVariables)
            if (n == name)
                return p != Permissions.None && granted.HasFlag(p);
        return true;
    }

    /// <summary>The mounts and variables of the granted permissions, in the table order of docs/cli.md §4.</summary>
    public static (List<SandboxMount> Mounts, Dictionary<string, string> Variables) Resolve(
        Permissions granted, Identity identity, Func<string, string?> hostEnv, Func<string, bool> exists)
    {
        var mounts = new List<SandboxMount>();
        var vars = new Dictionary<string, string>();
        string xdg = hostEnv("XDG_RUNTIME_DIR") is { Length: > 0 } x ? x : $"/run/user/{Native.Interop.Unistd.getuid()}";
        void Rw(string p) => mounts.Add(new SandboxMount(SandboxMountKind.ReadWrite, p, p));
        void Ro(string p) => mounts.Add(new SandboxMount(SandboxMountKind.ReadOnly, p, p));
        void Dev(string p) => mounts.Add(new SandboxMount(SandboxMountKind.Device, p, p));

        if (granted.HasFlag(Permissions.Home) && !identity.IsRoot && hostEnv("HOME") is { Length: > 0 } home)
            Rw(home);
        if (granted.HasFlag(Permissions.Media))
            foreach (var p in new[] { "/media", "/run/media", "/mnt" }) Rw(p);
        if (granted.HasFlag(Permissions.Audio))
        {
            Rw($"{xdg}/pulse/native");
            Rw($"{xdg}/pipewire-0");
            Dev("/dev/snd");
            Rw("/proc/asound");
            Dev("/dev/dsp");
            vars["PULSE_SERVER"] = $"unix:{xdg}/pulse/native";
        }
        if (granted.HasFlag(Permissions.Wayland) && hostEnv("WAYLAND_DISPLAY") is { Length: > 0 } wayland)
        {
            Rw(Path.Combine(xdg, wayland));
            vars["WAYLAND_DISPLAY"] = wayland;
        }
        if (granted.HasFlag(Permissions.Xorg) && hostEnv("DISPLAY") is { Length: > 0 } display && hostEnv("XAUTHORITY") is { Length: > 0 } xauth)
        {
            Ro(xauth);
            // The private /tmp hides the host's X sockets; bring back just their directory.
            Rw("/tmp/.X11-unix");
            vars["DISPLAY"] = display;
            vars["XAUTHORITY"] = xauth;
        }
        if (granted.HasFlag(Permissions.DbusUser) && hostEnv("DBUS_SESSION_BUS_ADDRESS") is { Length: > 0 } bus && DbusSocket(bus) is { } socket)
        {
            Rw(socket);
            vars["DBUS_SESSION_BUS_ADDRESS"] = bus;
        }
        if (granted.HasFlag(Permissions.DbusSystem))
            Rw("/run/dbus/system_bus_socket");
        if (granted.HasFlag(Permissions.Udev))
            Rw("/run/udev");
        if (granted.HasFlag(Permissions.Usb))
            foreach (var p in new[] { "/dev/bus/usb", "/dev/usb" }) Dev(p);
        if (granted.HasFlag(Permissions.Input))
            foreach (var p in new[] { "/dev/input", "/dev/uinput" }) Dev(p);
        if (granted.HasFlag(Permissions.Gpu))
        {
            Dev("/dev/dri");
            foreach (var p in NvidiaDevices(exists)) Dev(p);
            // The host driver's user-space half must match its kernel half: bind those files
            // read-only, one by one, at their own paths (§16d: no view of the host root).
            foreach (var p in NvidiaFiles()) Ro(p);
        }
        if (granted.HasFlag(Permissions.Network))
            foreach (var p in new[] { "/etc/host.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/resolv.conf" }) Ro(p);
        if (granted.HasFlag(Permissions.Shm))
            Dev("/dev/shm");
        if (granted.HasFlag(Permissions.Optical))
        {
            for (int n = 0; n < 256; n++)
            {
                string sr = $"/dev/sr{n}", sg = $"/dev/sg{n}";
                if (!exists(sr) && !exists(sg))
                    break;
                Dev(sr);
                Dev(sg);
            }
        }
        if (granted.HasFlag(Permissions.Dev))
            Dev("/dev");
        return (mounts, vars);
    }

    /// <summary>The socket path of a D-Bus address: from the first '/' to the first ',' (<c>unix:path=/run/user/1000/bus,guid=..</c>).</summary>
    public static string? DbusSocket(string address)
    {
        int start = address.IndexOf('/');
        if (start < 0)
            return null;
        int end = address.IndexOf(',', start);
        return end < 0 ? address[start..] : address[start..end];
    }

    /// <summary>
    /// The host's NVIDIA user-space files (docs/cli.md §4, "gpu NVIDIA handling"): names containing
    /// nvidia, cuda, nvcuvid or nvoptix in the library directories (nvidia and cuda in /usr/lib32),
    /// nvidia in /usr/bin, /usr/share and the Vulkan ICD directory; never gst, icudata or egl-wayland.
    /// Paths are given under <paramref name="root"/> for tests and returned as host paths.
    /// </summary>
    public static IEnumerable<string> NvidiaFiles(string root = "/")
    {
        string[] all = ["nvidia", "cuda", "nvcuvid", "nvoptix"];
        var places = new (string Dir, string[] Names)[]
        {
            ("/usr/lib", all), ("/usr/lib/x86_64-linux-gnu", all), ("/usr/lib/i386-linux-gnu", all),
            ("/usr/lib32", ["nvidia", "cuda"]), ("/usr/bin", ["nvidia"]), ("/usr/share", ["nvidia"]),
            ("/usr/share/vulkan/icd.d", ["nvidia"]),
        };
        foreach (var (dir, names) in places)
        {
            string hostDir = Path.Combine(root, dir.TrimStart('/'));
            if (!Directory.Exists(hostDir))
                continue;
            IEnumerable<string> entries;
            try
            {
                entries = Directory.EnumerateFileSystemEntries(hostDir).Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (string entry in entries)
            {
                string name = Path.GetFileName(entry);
                if (names.Any(n => name.Contains(n, StringComparison.Ordinal))
                    && !new[] { "gst", "icudata", "egl-wayland" }.Any(x => entry.Contains(x, StringComparison.Ordinal)))
                    yield return "/" + Path.GetRelativePath(root, entry);
            }
        }
    }

    private static IEnumerable<string> NvidiaDevices(Func<string, bool> exists)
    {
        if (!exists("/dev"))
            return [];
        try
        {
            return Directory.EnumerateFileSystemEntries("/dev", "*nvidia*").Order(StringComparer.Ordinal).ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }
}
