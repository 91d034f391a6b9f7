using System.Net;
using System.Net.Sockets;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// A hostile guest with no permission, as root and as the test user, on the Debian image (its perl
/// issues the raw system calls). Each test tries one way out and checks, on the host side too, that
/// nothing got through: no keystroke in the caller's terminal, no connection on a host socket, no
/// host command run. Where a probe can succeed, a positive control shows that it would have.
/// </summary>
[Collection("run")]
public sealed class EscapeTests : IDisposable
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    private readonly List<string> _cleanup = [];

    public void Dispose()
    {
        foreach (string path in _cleanup)
            Launcher.RunProcess("rm", ["-rf", "--one-file-system", path], null, null);
    }

    private static RunResult Guest(Identity who, string image, string script, IDictionary<string, string?>? env = null, params string[] before) =>
        Launcher.Run(who, image, env, [.. before, "fim-exec", "sh", "-c", script]);

    /// <summary>
    /// The program shares the caller's terminal (a pty from script(1); stdin is that terminal, so the
    /// run keeps the caller's session) and pushes "echo INJECTED" into its input queue with
    /// TIOCSTI. After the launcher exits, the shell that started it reads what is left there.
    /// </summary>
    [Theory]
    [MemberData(nameof(Identities))]
    public void The_guest_cannot_type_into_the_callers_terminal(Identity who)
    {
        string image = DebianImage.New(who);
        string ttyRun = Path.Combine(Path.GetDirectoryName(image)!, "tty-run.sh");
        File.WriteAllText(ttyRun, """
            cmd=$(printf '%q ' "$@")
            SHELL=/bin/bash exec script -qefc "$cmd; IFS= read -r -t 3 line; echo \"left-in-terminal:[\$line]\"" /dev/null
            """);
        const string inject = """
            test -t 0 || { echo stdin-is-no-terminal; exit 3; }
            perl -e 'my $r = 1; for my $c (split //, "echo INJECTED\n") { $r = ioctl(STDIN, 0x5412, $c) && $r; } print "tiocsti=", ($r ? "ok" : $!+0), "\n"; my $sub = "\x0b"; print "tioclinux=", (ioctl(STDIN, 0x541C, $sub) ? "ok" : $!+0), "\n"'
            """;
        var result = Launcher.RunWrapped(who, image, ["bash", ttyRun], null, "fim-exec", "sh", "-c", inject);
        string output = result.Stdout.Replace("\r", "");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("tiocsti=1\n", output);   // EPERM
        Assert.Contains("tioclinux=1\n", output);
        Assert.Contains("left-in-terminal:[]", output);
        Assert.DoesNotContain("INJECTED", output);
    }

    /// <summary>
    /// open_by_handle_at opens files without a path: the way out of a mount namespace. Tried as root
    /// of the guest, which holds every capability its namespace gives, on a file of the guest's own
    /// /tmp (a tmpfs, which hands out handles), so that only the filter stands in the way.
    /// </summary>
    [Theory]
    [MemberData(nameof(Identities))]
    public void The_guest_cannot_open_files_by_handle(Identity who)
    {
        string image = DebianImage.New(who);
        // name_to_handle_at(AT_FDCWD, "/tmp/file") then open_by_handle_at(fd of /tmp, handle).
        const string script = """
            echo secret > /tmp/file
            perl -e '
              my $h = pack("LLa128", 128, 0, "");
              my $mount = pack("l", 0);
              my $path = "/tmp/file";
              my $r = syscall(303, -100, $path, $h, $mount, 0);
              print "name_to_handle_at=", ($r == -1 ? $!+0 : "ok"), "\n";
              open(my $dir, "<", "/tmp") or die;
              my $fd = syscall(304, fileno($dir), $h, 0);
              print "open_by_handle_at=", ($fd == -1 ? $!+0 : "ok"), "\n";'
            """;
        var result = Launcher.Run(who, image, "fim-root", "sh", "-c", script);
        Assert.True(result.ExitCode == 0, result.ToString());
        // The handle itself is there (the probe is sound); only opening it is refused (EPERM).
        Assert.Contains("name_to_handle_at=ok\n", result.Stdout);
        Assert.Contains("open_by_handle_at=1\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_guest_cannot_create_a_user_namespace_unless_fim_unshare_user_allows_it(Identity who)
    {
        string image = DebianImage.New(who);
        const string probe = "unshare -U true 2>&1 && echo created || echo refused";
        var denied = Guest(who, image, probe);
        Assert.True(denied.ExitCode == 0, denied.ToString());
        Assert.Contains("refused", denied.Stdout);
        Assert.Contains("Operation not permitted", denied.Stdout);

        Assert.Equal(0, Launcher.Run(who, image, "fim-unshare", "add", "user").ExitCode);
        var allowed = Guest(who, image, probe);
        Assert.True(allowed.ExitCode == 0 && allowed.Stdout.Contains("created"), allowed.ToString());
    }

    /// <summary>Markers in the caller's home, in /root and in /tmp, and a second running instance with its own data: none is visible.</summary>
    [Theory]
    [MemberData(nameof(Identities))]
    public void The_guest_sees_nothing_of_the_host_or_of_other_instances(Identity who)
    {
        string tag = Guid.NewGuid().ToString("N")[..12];
        string other = DebianImage.New(who, "other.flatimage");
        string otherDir = Path.GetDirectoryName(other)!;
        Assert.Equal(0, Launcher.Run(who, other, "fim-bind", "add", "rw", "$FIM_DIR_SELF", "/outside").ExitCode);
        using var running = Launcher.Start(who, other, null, "fim-exec", "sh", "-c", $"echo other-secret > /tmp/secret-{tag}; echo $FIM_DIR_INSTANCE > /outside/started; sleep 60");
        try
        {
            Launcher.WaitForFile(Path.Combine(otherDir, "started"), running, "the other instance never started");
            string otherInstance = File.ReadAllText(Path.Combine(otherDir, "started")).Trim();

            string image = DebianImage.New(who);
            string home = Path.GetDirectoryName(image)!;
            string[] markers = [Path.Combine(home, $"home-{tag}"), $"/root/root-{tag}", $"/tmp/tmp-{tag}"];
            foreach (string m in markers)
            {
                File.WriteAllText(m, "host secret\n");
                _cleanup.Add(m);
            }
            string[] hidden = [.. markers, otherInstance, Path.Combine(otherDir, ".other.flatimage.data"), other, $"/tmp/secret-{tag}"];
            string script = string.Join("; ", hidden.Select(p => $"test -e '{p}' && echo 'visible {p}'")) + $"; ls /proc | grep -qx {running.Id} && echo 'visible pid'; echo done";
            var result = Guest(who, image, script);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("done\n", result.Stdout);
        }
        finally
        {
            Launcher.RunProcess("kill", ["-TERM", running.Id.ToString()], null, null);
            Launcher.Finish(running);
        }
    }

    /// <summary>
    /// A server on the host's loopback, and an abstract unix socket (where X servers and D-Bus
    /// listen besides their paths): unreachable without the network permission. With it, the same
    /// probe connects, so the probe itself is sound.
    /// </summary>
    [Theory]
    [MemberData(nameof(Identities))]
    public void The_guest_cannot_reach_host_network_services(Identity who)
    {
        using var tcp = new TcpListener(IPAddress.Loopback, 0);
        tcp.Start();
        int port = ((IPEndPoint)tcp.LocalEndpoint).Port;
        string name = $"fim-escape-{Guid.NewGuid():N}";
        using var abstractSocket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        abstractSocket.Bind(new UnixDomainSocketEndPoint("\0" + name));
        abstractSocket.Listen();

        string image = DebianImage.New(who);
        string probe = $"""
            bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}' 2>/dev/null && echo tcp-connected || echo tcp-refused
            perl -MSocket -e 'socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die; print connect($s, pack_sockaddr_un("\0{name}")) ? "abstract-connected\n" : "abstract-refused\n"'
            """;
        var isolated = Guest(who, image, probe);
        Assert.True(isolated.ExitCode == 0, isolated.ToString());
        Assert.Equal("tcp-refused\nabstract-refused\n", isolated.Stdout);
        Assert.False(tcp.Pending(), "the host's server got a connection");
        Assert.False(abstractSocket.Poll(0, SelectMode.SelectRead), "the abstract socket got a connection");

        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "add", "network").ExitCode);
        var granted = Guest(who, image, probe);
        Assert.Equal("tcp-connected\nabstract-connected\n", granted.Stdout);
    }

    /// <summary>The caller's session bus, X display and ssh agent, by variable and by socket path.</summary>
    [Theory]
    [MemberData(nameof(Identities))]
    public void The_guest_gets_no_session_bus_display_or_agent(Identity who)
    {
        string image = DebianImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        using var bus = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        bus.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "bus")));
        bus.Listen();
        if (who == Identity.User)
            Launcher.Chown(Path.Combine(dir, "bus"));
        var env = new Dictionary<string, string?>
        {
            ["DBUS_SESSION_BUS_ADDRESS"] = $"unix:path={dir}/bus",
            ["DBUS_SYSTEM_BUS_ADDRESS"] = $"unix:path={dir}/bus",
            ["DISPLAY"] = ":99",
            ["XAUTHORITY"] = $"{dir}/.Xauthority",
            ["WAYLAND_DISPLAY"] = "wayland-9",
            ["SSH_AUTH_SOCK"] = $"{dir}/bus",
            ["XDG_SESSION_ID"] = "7",
        };
        const string script = """
            for v in DBUS_SESSION_BUS_ADDRESS DBUS_SYSTEM_BUS_ADDRESS DISPLAY XAUTHORITY WAYLAND_DISPLAY SSH_AUTH_SOCK XDG_SESSION_ID; do
              eval "test -n \"\${$v+set}\"" && echo "leaked $v"
            done
            """ + "\n";
        var result = Guest(who, image, script + $"test -e '{dir}/bus' && echo 'visible bus'; echo done", env);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("done\n", result.Stdout);
        Assert.False(bus.Poll(0, SelectMode.SelectRead), "the bus got a connection");
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void The_portal_runs_nothing_on_the_host_without_the_portal_permission(Identity who)
    {
        string image = DebianImage.New(who);
        string pwned = Path.Combine(Path.GetDirectoryName(image)!, "pwned");
        var result = Guest(who, image, $"fim_portal sh -c 'echo pwned > {pwned}'; echo status=$?; ls $(dirname $FIM_DISPATCHER_CFG)");
        Assert.Contains("status=1\n", result.Stdout);
        Assert.Contains("needs the 'portal' permission", result.Stderr);
        Assert.False(File.Exists(pwned), "a host command ran");
    }

    /// <summary>
    /// fim-instance exec from the host into a running guest: it leaves the caller's host-service
    /// variables behind, and when the guest replaces its portal socket with a symlink to a host
    /// socket (here a stand-in for the session bus), it refuses in one line and connects nowhere.
    /// </summary>
    [Theory]
    [MemberData(nameof(Identities))]
    public void Instance_exec_neither_follows_a_planted_symlink_nor_passes_host_services(Identity who)
    {
        string image = BusyboxImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        // Socket paths must fit in sun_path (108 bytes): a short private runtime directory.
        string runtime = $"/tmp/fimx-{Guid.NewGuid():N}"[..18];
        Directory.CreateDirectory(runtime);
        File.SetUnixFileMode(runtime, (UnixFileMode)0b111_000_000);
        _cleanup.Add(runtime);
        using var victim = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        victim.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "bus")));
        victim.Listen();
        if (who == Identity.User)
        {
            Launcher.Chown(runtime);
            Launcher.Chown(Path.Combine(dir, "bus"));
        }
        var env = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime };
        Assert.Equal(0, Launcher.Run(who, image, env, "fim-bind", "add", "rw", "$FIM_DIR_SELF", "/outside").ExitCode);
        // The program plants the symlink when told to (the instance's own environment names its socket).
        using var run = Launcher.Start(who, image, env, "fim-exec", "sh", "-c",
            $"echo > /outside/started; while [ ! -e /outside/plant ]; do sleep 0.1; done; rm \"$FIM_DAEMON_CFG\" && ln -s '{dir}/bus' \"$FIM_DAEMON_CFG\" && echo > /outside/planted; sleep 60");
        try
        {
            Launcher.WaitForFile(Path.Combine(dir, "started"), run, "the instance never started");
            var caller = new Dictionary<string, string?>(env)
            {
                ["DISPLAY"] = ":99",
                ["DBUS_SESSION_BUS_ADDRESS"] = $"unix:path={dir}/bus",
                ["SSH_AUTH_SOCK"] = $"{dir}/bus",
                ["XDG_SESSION_TYPE"] = "x11",
                ["FIM_ESCAPE_KEPT"] = "yes",
            };
            var inside = Launcher.Run(who, image, caller, "fim-instance", "exec", "0", "sh", "-c",
                "echo \"${DISPLAY-unset} ${DBUS_SESSION_BUS_ADDRESS-unset} ${SSH_AUTH_SOCK-unset} ${XDG_SESSION_TYPE-unset} ${FIM_ESCAPE_KEPT-unset}\"");
            Assert.True(inside.ExitCode == 0, inside.ToString());
            Assert.Equal("unset unset unset unset yes\n", inside.Stdout);

            // The guest points its own socket at the host's bus (it can name any host path: the link is resolved on the host).
            File.WriteAllText(Path.Combine(dir, "plant"), "");
            Launcher.WaitForFile(Path.Combine(dir, "planted"), run, "the guest never planted its symlink");
            var refused = Launcher.Run(who, image, caller, "fim-instance", "exec", "0", "true");
            Assert.Equal(125, refused.ExitCode);
            Assert.Matches(@"^E::fim-instance::Refusing portal socket '[^']+/portal/daemon/socket': it is a symbolic link\n$", refused.Stderr);
            Assert.False(victim.Poll(200_000, SelectMode.SelectRead), "the host socket behind the symlink got a connection");
        }
        finally
        {
            Launcher.RunProcess("kill", ["-TERM", run.Id.ToString()], null, null);
            Launcher.Finish(run);
        }
    }
}
