using FlatImage.Runtime.Config;
using FlatImage.Runtime.Paths;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Tests.Sandbox;

public sealed class BwrapCommandLineTests
{
    private static readonly HostIdentity User = new(1000, 1000, "u", "/home/u");
    private static readonly HostIdentity Root = new(0, 0, "root", "/root");
    private static readonly InstancePaths Paths = InstancePaths.For("/tmp/fim-1000", "/data/.app.data", 42);

    private static SandboxSpec Spec(HostIdentity host, Identity identity, Permissions permissions = Permissions.None,
        UnshareOptions unshare = UnshareOptions.None, SandboxRoot? root = null, IReadOnlyList<SandboxMount>? binds = null) =>
        new(root ?? new SandboxRoot.MergedDirectory("/merged"), identity, host, permissions, unshare,
            binds ?? [], [], Paths, "/work", ["prog", "--flag"]);

    private static Identity Same(HostIdentity h) => new(h.Uid, h.Gid, h.User, h.Home, "/bin/sh");

    [Fact]
    public void Default_is_zero_access()
    {
        var args = BwrapCommandLine.Build(Spec(User, Same(User)));
        string line = string.Join(' ', args);
        Assert.Contains("--die-with-parent", args);
        Assert.Contains("--unshare-pid", args);
        Assert.Contains("--unshare-net", args);
        Assert.Contains("--bind /merged /", line);
        Assert.Contains("--dev /dev --proc /proc --tmpfs /tmp --ro-bind /sys /sys", line);
        // The image's own account files are used, never a host file bound over them.
        Assert.DoesNotContain("/etc/passwd", line);
        Assert.DoesNotContain("/etc/group", line);
        Assert.DoesNotContain("--bind / ", line);
        Assert.EndsWith("--chdir /work -- prog --flag", line);
    }

    [Fact]
    public void A_home_below_tmp_is_made_in_the_private_tmp_unless_something_is_bound_there()
    {
        var below = Same(User) with { Home = "/tmp/run/home" };
        Assert.Contains("--tmpfs /tmp --ro-bind /sys /sys --perms 0700 --dir /tmp/run/home", string.Join(' ', BwrapCommandLine.Build(Spec(User, below))));
        Assert.DoesNotContain("--dir", BwrapCommandLine.Build(Spec(User, Same(User))));
        var bound = Spec(User, below, binds: [new SandboxMount(SandboxMountKind.ReadWrite, "/srv/h", "/tmp/run/home")]);
        Assert.DoesNotContain("--dir", BwrapCommandLine.Build(bound));
    }

    [Fact]
    public void Only_the_instances_own_portal_endpoints_are_bound_in()
    {
        string line = string.Join(' ', BwrapCommandLine.Build(Spec(User, Same(User))));
        // The daemon's directory writable (it creates its socket), the host's read-only (the guest cannot replace it).
        Assert.Contains($"--bind-try {Paths.PortalDaemonDirectory} {Paths.PortalDaemonDirectory}", line);
        Assert.Contains($"--ro-bind-try {Paths.PortalDispatcherDirectory} {Paths.PortalDispatcherDirectory}", line);
        Assert.DoesNotContain($" {Paths.Instance} ", line);
        Assert.DoesNotContain($" {Paths.Portal} ", line);
        Assert.DoesNotContain(" /tmp/fim-1000 ", line);
    }

    [Fact]
    public void An_unprivileged_caller_gets_a_user_namespace_with_its_identity()
    {
        var args = string.Join(' ', BwrapCommandLine.Build(Spec(User, Same(User))));
        Assert.Contains("--unshare-user --uid 1000 --gid 1000", args);
        var asRoot = string.Join(' ', BwrapCommandLine.Build(Spec(User, new Identity(0, 0, "root", "/root", "/bin/sh"))));
        Assert.Contains("--unshare-user --uid 0 --gid 0", asRoot);
    }

    [Fact]
    public void Root_gets_a_user_namespace_too()
    {
        // A root caller's guest is root only inside its own user namespace: no host capability.
        Assert.Contains("--userns 3 --uid 0 --gid 0", string.Join(' ', BwrapCommandLine.Build(Spec(Root, Same(Root)))));
        var changed = string.Join(' ', BwrapCommandLine.Build(Spec(Root, new Identity(1000, 1000, "u", "/home/u", "/bin/sh"))));
        Assert.Contains("--userns 3 --uid 1000 --gid 1000", changed);
    }

    [Fact]
    public void Network_permission_shares_the_network_unless_unshare_net_forces_isolation()
    {
        Assert.DoesNotContain("--unshare-net", BwrapCommandLine.Build(Spec(User, Same(User), Permissions.Network)));
        Assert.Contains("--unshare-net", BwrapCommandLine.Build(Spec(User, Same(User), Permissions.Network, UnshareOptions.Net)));
    }

    [Fact]
    public void Unshare_options_map_to_bwrap_flags()
    {
        var args = BwrapCommandLine.Build(Spec(User, Same(User), unshare: UnshareOptions.Ipc | UnshareOptions.Uts | UnshareOptions.Cgroup));
        Assert.Contains("--unshare-ipc", args);
        Assert.Contains("--unshare-uts", args);
        Assert.Contains("--unshare-cgroup-try", args);
    }

    [Fact]
    public void Kernel_overlay_lists_lower_layers_bottom_first()
    {
        var root = new SandboxRoot.KernelOverlay(["/l0", "/l1"], "/up", "/wk");
        var line = string.Join(' ', BwrapCommandLine.Build(Spec(User, Same(User), root: root)));
        Assert.Contains("--overlay-src /l0 --overlay-src /l1 --overlay /up /wk /", line);
    }

    [Fact]
    public void User_binds_come_before_permissions_as_try_binds()
    {
        var binds = new[] { new SandboxMount(SandboxMountKind.ReadOnly, "/src", "/dst"), new SandboxMount(SandboxMountKind.Device, "/dev/dri", "/dev/dri") };
        var line = string.Join(' ', BwrapCommandLine.Build(Spec(User, Same(User), binds: binds)));
        Assert.Contains("--ro-bind-try /src /dst --dev-bind-try /dev/dri /dev/dri", line);
    }

    [Fact]
    public void Relative_bind_paths_are_refused_before_bwrap_runs()
    {
        var binds = new[] { new SandboxMount(SandboxMountKind.ReadWrite, "relative", "/dst") };
        Assert.Throws<ArgumentException>(() => BwrapCommandLine.Build(Spec(User, Same(User), binds: binds)));
    }

    [Fact]
    public void Every_run_gets_the_seccomp_filter_fd_and_a_new_session_unless_it_reads_a_terminal()
    {
        var piped = BwrapCommandLine.Build(Spec(User, Same(User)));
        Assert.Contains($"--seccomp {SeccompFilter.ChildFd}", string.Join(' ', piped));
        Assert.Contains("--new-session", piped);
        Assert.Contains($"--seccomp {SeccompFilter.ChildFd}", string.Join(' ', BwrapCommandLine.Build(Spec(Root, Same(Root)))));

        // An interactive shell keeps the caller's session (job control); the filter guards the terminal.
        var interactive = BwrapCommandLine.Build(Spec(User, Same(User)) with { TerminalStdin = true });
        Assert.DoesNotContain("--new-session", interactive);
        Assert.Contains($"--seccomp {SeccompFilter.ChildFd}", string.Join(' ', interactive));
    }
}
