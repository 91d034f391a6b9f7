using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Tests.Sandbox;

public sealed class GuestPathTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fim-guest-").FullName;

    public GuestPathTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "usr/bin"));
        File.WriteAllText(Path.Combine(_root, "usr/bin/busybox"), "#!");
        File.SetUnixFileMode(Path.Combine(_root, "usr/bin/busybox"), (UnixFileMode)0b111_101_101);
        File.WriteAllText(Path.Combine(_root, "usr/bin/data"), "x");
        File.CreateSymbolicLink(Path.Combine(_root, "bin"), "usr/bin");                 // merged /usr, relative
        File.CreateSymbolicLink(Path.Combine(_root, "usr/bin/sh"), "/usr/bin/busybox"); // absolute: the guest's root
        File.CreateSymbolicLink(Path.Combine(_root, "escape"), "/etc");                 // must not reach the host's /etc
        File.CreateSymbolicLink(Path.Combine(_root, "loop"), "loop");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Follows_links_inside_the_guest_root()
    {
        Assert.Equal(Path.Combine(_root, "usr/bin/busybox"), GuestPath.Resolve(_root, "/bin/sh"));
        Assert.Equal(Path.Combine(_root, "usr/bin/busybox"), GuestPath.Resolve(_root, "/bin/../bin/./busybox"));
    }

    [Fact]
    public void Absolute_links_and_dotdot_never_leave_the_guest_root()
    {
        Assert.Null(GuestPath.Resolve(_root, "/escape/passwd"));
        Assert.Null(GuestPath.Resolve(_root, "/../../etc/passwd"));
        Assert.Null(GuestPath.Resolve(_root, "/loop"));
    }

    [Fact]
    public void Programs_are_found_on_the_guest_path_with_their_execute_bit()
    {
        Assert.Equal("/bin/sh", GuestPath.FindProgram(_root, "sh", "/nowhere:/bin", out bool sh));
        Assert.True(sh);
        Assert.Equal("/usr/bin/data", GuestPath.FindProgram(_root, "data", "/usr/bin", out bool data));
        Assert.False(data);
        Assert.Null(GuestPath.FindProgram(_root, "missing", "/bin:/usr/bin", out _));
        Assert.Equal("/usr", GuestPath.FindProgram(_root, "/usr", "/bin", out bool dir));
        Assert.False(dir);
    }

    [Fact]
    public void Programs_in_bound_directories_are_found_where_the_guest_sees_them()
    {
        // The tools bundle: sbin/sh -> ../bin/busybox, bound at /opt/app/{bin,sbin} over a root that has neither.
        string app = Directory.CreateTempSubdirectory("fim-guest-app-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(app, "bin"));
            Directory.CreateDirectory(Path.Combine(app, "sbin"));
            File.WriteAllText(Path.Combine(app, "bin/busybox"), "#!");
            File.SetUnixFileMode(Path.Combine(app, "bin/busybox"), (UnixFileMode)0b111_101_101);
            File.CreateSymbolicLink(Path.Combine(app, "sbin/sh"), "../bin/busybox");
            var binds = new[] { new GuestBind("/opt/app/bin", Path.Combine(app, "bin")), new GuestBind("/opt/app/sbin", Path.Combine(app, "sbin")) };

            Assert.Equal(Path.Combine(app, "bin/busybox"), GuestPath.Resolve(_root, "/opt/app/sbin/sh", binds));
            Assert.Null(GuestPath.FindProgram(_root, "ls", "/opt/app/sbin", out _, binds));
            Assert.Equal("/usr/bin/sh", GuestPath.FindProgram(_root, "sh", "/usr/bin:/opt/app/sbin", out _, binds)); // the guest's own comes first
            Assert.Equal("/opt/app/sbin/sh", GuestPath.FindProgram(_root, "sh", "/opt/app/sbin", out bool executable, binds));
            Assert.True(executable);
            Assert.Null(GuestPath.FindProgram(_root, "sh", "/opt/app/sbin", out _)); // without the binds, the root has no /opt
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }
}
