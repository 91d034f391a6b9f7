using FlatImage.Runtime.Config;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Tests.Sandbox;

public sealed class HostServicesTests
{
    private static readonly Identity User = new(1000, 1000, "u", "/home/u", "/bin/sh");

    private static (List<SandboxMount> Mounts, Dictionary<string, string> Vars) Resolve(Permissions p, Dictionary<string, string> env) =>
        HostServices.Resolve(p, User, env.GetValueOrDefault, _ => false);

    [Fact]
    public void Nothing_is_granted_by_default()
    {
        var (mounts, vars) = Resolve(Permissions.None, new() { ["HOME"] = "/home/u", ["DISPLAY"] = ":0" });
        Assert.Empty(mounts);
        Assert.Empty(vars);
    }

    [Fact]
    public void Service_variables_pass_only_with_their_permission()
    {
        Assert.False(HostServices.MayPass("DISPLAY", Permissions.None));
        Assert.True(HostServices.MayPass("DISPLAY", Permissions.Xorg));
        Assert.False(HostServices.MayPass("WAYLAND_DISPLAY", Permissions.Xorg));
        Assert.False(HostServices.MayPass("SSH_AUTH_SOCK", Permissions.All));
        Assert.False(HostServices.MayPass("XDG_SESSION_TYPE", Permissions.All));
        Assert.True(HostServices.MayPass("LANG", Permissions.None));
    }

    [Fact]
    public void Permissions_bind_their_paths_and_set_their_variables()
    {
        var env = new Dictionary<string, string>
        {
            ["HOME"] = "/home/u", ["XDG_RUNTIME_DIR"] = "/run/user/1000", ["WAYLAND_DISPLAY"] = "wayland-0",
            ["DISPLAY"] = ":0", ["XAUTHORITY"] = "/home/u/.Xauthority", ["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/run/user/1000/bus,guid=1",
        };
        var (mounts, vars) = Resolve(Permissions.Home | Permissions.Wayland | Permissions.Xorg | Permissions.DbusUser | Permissions.Audio | Permissions.Network, env);
        var dest = mounts.Select(m => m.Destination).ToList();
        Assert.Contains("/home/u", dest);
        Assert.Contains("/run/user/1000/wayland-0", dest);
        Assert.Contains("/home/u/.Xauthority", dest);
        Assert.Contains("/tmp/.X11-unix", dest);
        Assert.Contains("/run/user/1000/bus", dest);
        Assert.Contains("/etc/resolv.conf", dest);
        Assert.Equal("wayland-0", vars["WAYLAND_DISPLAY"]);
        Assert.Equal(":0", vars["DISPLAY"]);
        Assert.Equal("unix:/run/user/1000/pulse/native", vars["PULSE_SERVER"]);
        Assert.Equal(SandboxMountKind.ReadOnly, mounts.Single(m => m.Destination == "/etc/resolv.conf").Kind);
    }

    [Fact]
    public void Home_is_not_granted_to_root_runs()
    {
        var (mounts, _) = HostServices.Resolve(Permissions.Home, new Identity(0, 0, "root", "/root", "/bin/sh"),
            new Dictionary<string, string> { ["HOME"] = "/home/u" }.GetValueOrDefault, _ => false);
        Assert.Empty(mounts);
    }

    [Theory]
    [InlineData("unix:path=/run/user/1000/bus", "/run/user/1000/bus")]
    [InlineData("unix:path=/run/user/1000/bus,guid=abc", "/run/user/1000/bus")]
    [InlineData("tcp:host=localhost", null)]
    public void Dbus_socket_is_read_from_the_address(string address, string? socket)
    {
        Assert.Equal(socket, HostServices.DbusSocket(address));
    }

    [Fact]
    public void Gpu_finds_the_host_nvidia_user_space_files_one_by_one()
    {
        string root = Directory.CreateTempSubdirectory("fim-gpu-").FullName;
        try
        {
            foreach (string f in new[]
            {
                "usr/lib/x86_64-linux-gnu/libnvidia-glcore.so.535", "usr/lib/x86_64-linux-gnu/libcuda.so.1",
                "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/gstreamer-nvidia.so",
                "usr/lib32/libnvcuvid.so", "usr/bin/nvidia-smi", "usr/share/vulkan/icd.d/nvidia_icd.json",
            })
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, f))!);
                File.WriteAllText(Path.Combine(root, f), "");
            }
            Assert.Equal(
                ["/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib/x86_64-linux-gnu/libnvidia-glcore.so.535", "/usr/bin/nvidia-smi", "/usr/share/vulkan/icd.d/nvidia_icd.json"],
                HostServices.NvidiaFiles(root).ToList());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
