namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// The sandbox boundary for every caller, tried as a hostile guest and a hostile local user
/// would: a root caller's guest is root only in its own user namespace, the writable layer cannot
/// steer a mount point onto the host, bind destinations never leave the root, and the data
/// directory is the caller's alone.
/// </summary>
public sealed class BoundaryTests
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_guests_root_is_root_of_its_own_user_namespace_only(Identity who)
    {
        string image = BusyboxImage.New(who);
        // A user's uid 0 inside is their own uid outside and nothing else; root's namespace maps
        // every id to itself (packages own files as system users), but it is a namespace of its own.
        var map = Launcher.Run(who, image, "fim-root", "sh", "-c", "cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user");
        string expected = who == Identity.Root ? "0 0 4294967295" : $"0 {Launcher.TestUserIds.Uid} 1";
        var lines = map.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 3, map.ToString());
        Assert.Equal(expected, string.Join(' ', lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal("0", lines[1]);
        Assert.NotEqual(new FileInfo("/proc/self/ns/user").LinkTarget, lines[2]);
        // Capabilities of that namespace do not reach the host's UTS namespace or its mounts.
        string before = File.ReadAllText("/proc/sys/kernel/hostname");
        var tries = Launcher.Run(who, image, "fim-root", "sh", "-c", "hostname evil-guest 2>/dev/null && echo renamed; mount -o remount,rw /sys 2>/dev/null && echo remounted; echo done");
        Assert.Equal("done\n", tries.Stdout);
        Assert.Equal(before, File.ReadAllText("/proc/sys/kernel/hostname"));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_writable_layer_cannot_steer_a_mount_point_onto_the_host(Identity who)
    {
        string image = BusyboxImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        // A host directory the guest would like bwrap to create a file in.
        string target = Directory.CreateDirectory(Path.Combine(dir, "host-target")).FullName;
        if (who == Identity.User)
            Launcher.Chown(target);
        File.WriteAllText(Path.Combine(dir, "shared"), "shared\n");
        Assert.Equal(0, Launcher.Run(who, image, "fim-bind", "add", "ro", "$FIM_DIR_SELF/shared", "/srv/data/shared").ExitCode);
        Assert.Equal("shared\n", Launcher.Run(who, image, "fim-exec", "cat", "/srv/data/shared").Stdout);

        // The guest replaces the way to the mount point with a link into the host's old root (in a
        // run without the bind: a mount point cannot be removed while it is one), and the bind is back.
        Assert.Equal(0, Launcher.Run(who, image, "fim-bind", "del", "0").ExitCode);
        var plant = Launcher.Run(who, image, "fim-root", "sh", "-c", $"mkdir -p /srv && rm -rf /srv/data && ln -s /oldroot{target} /srv/data && echo planted");
        Assert.Equal("planted\n", plant.Stdout);
        Assert.Equal(0, Launcher.Run(who, image, "fim-bind", "add", "ro", "$FIM_DIR_SELF/shared", "/srv/data/shared").ExitCode);

        var refused = Launcher.Run(who, image, "fim-exec", "true");
        Assert.Equal(125, refused.ExitCode);
        Assert.StartsWith("E::fim-exec::The writable layer makes '/srv/data' a symbolic link, on the way to the mount point '/srv/data/shared'", refused.Stderr);
        Assert.Equal(1, refused.Stderr.Count(c => c == '\n'));
        Assert.Empty(Directory.GetFileSystemEntries(target));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_bind_destination_never_leaves_the_root(Identity who)
    {
        string image = BusyboxImage.New(who);
        var add = Launcher.Run(who, image, "fim-bind", "add", "ro", "/etc/hostname", "/../oldroot/tmp/x");
        Assert.Equal(125, add.ExitCode);
        Assert.Equal("C::fim-bind::Bind destination '/../oldroot/tmp/x' leaves the container's root\n", add.Stderr);
        Assert.Equal("", Launcher.Run(who, image, "fim-bind", "list").Stdout);
        // FlatImage's order of complaints: a bad type first, then the count.
        Assert.Equal("C::fim-bind::Invalid bind type\n", Launcher.Run(who, image, "fim-bind", "add", "roo").Stderr);
        Assert.Equal("C::fim-bind::Incorrect number of arguments for 'add' (<ro,rw,dev> <src> <dst>)\n", Launcher.Run(who, image, "fim-bind", "add", "ro", "/x").Stderr);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_data_directory_is_private_and_a_planted_one_is_refused(Identity who)
    {
        string image = BusyboxImage.New(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-exec", "true").ExitCode);
        string data = Path.Combine(Path.GetDirectoryName(image)!, ".app.flatimage.data");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));

        // Another user made the data directory first (a shared directory): nothing in it is used.
        string other = BusyboxImage.New(who, "other.flatimage");
        string planted = Path.Combine(Path.GetDirectoryName(other)!, ".other.flatimage.data");
        Directory.CreateDirectory(Path.Combine(planted, "root", "etc"));
        File.WriteAllText(Path.Combine(planted, "root", "etc", "image-marker"), "planted\n");
        Assert.Equal(0, Launcher.RunProcess("chown", ["-R", "65534:65534", planted], null, null).ExitCode);
        var refused = Launcher.Run(who, other, "fim-exec", "cat", "/etc/image-marker");
        Assert.Equal(125, refused.ExitCode);
        Assert.Equal($"E::fim-exec::Refusing data directory '{planted}': it is owned by uid 65534\n", refused.Stderr);
        Assert.Equal("", refused.Stdout);
    }
}
