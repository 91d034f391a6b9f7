using FlatImage.Runtime.Config;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The bubblewrap command line of a run (bwrap(1)). The default is "zero access" (cli.md §16d):
/// the sandbox sees the image's merged tree, fresh /dev and /proc, a private /tmp, a read-only
/// /sys, its own PID namespace and — unless the <c>network</c> permission is granted — its own
/// network namespace with loopback only. Everything else is added by a permission or a fim-bind.
/// Mount order follows cli.md §4: baseline, user binds, then permissions.
/// </summary>
public static class BwrapCommandLine
{
    public static List<string> Build(SandboxSpec spec)
    {
        var a = new List<string>();

        // The sandbox dies with the launcher: a killed launcher never leaves an orphaned program
        // running on mounts that are about to be torn down.
        a.Add("--die-with-parent");

        // Namespaces. An unprivileged caller always gets a user namespace (bwrap is not setuid on
        // Debian and needs one to mount anything); root gets one only to change identity.
        bool changesIdentity = spec.Identity.Uid != spec.Host.Uid || spec.Identity.Gid != spec.Host.Gid;
        if (spec.Host.Uid != 0 || changesIdentity)
        {
            a.Add("--unshare-user");
            a.AddRange(["--uid", spec.Identity.Uid.ToString(), "--gid", spec.Identity.Gid.ToString()]);
        }
        else if (spec.Unshare.HasFlag(UnshareOptions.User))
        {
            a.Add("--unshare-user-try");
        }
        // Own PID namespace always: the guest sees only its own processes (§16d).
        a.Add("--unshare-pid");
        // No network unless granted; fim-unshare net forces isolation even then.
        if (!spec.Permissions.HasFlag(Permissions.Network) || spec.Unshare.HasFlag(UnshareOptions.Net))
            a.Add("--unshare-net");
        if (spec.Unshare.HasFlag(UnshareOptions.Ipc))
            a.Add("--unshare-ipc");
        if (spec.Unshare.HasFlag(UnshareOptions.Uts))
            a.Add("--unshare-uts");
        if (spec.Unshare.HasFlag(UnshareOptions.Cgroup))
            a.Add("--unshare-cgroup-try");

        // The launcher's seccomp filter (SeccompFilter: what each rule prevents), read by bwrap from
        // the fd the sandbox is started with and installed on the program and bwrap's own init.
        a.AddRange(["--seccomp", SeccompFilter.ChildFd.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        // A new session detaches the guest from the caller's controlling terminal: TIOCSTI then
        // fails even if the filter missed a way to issue it (the kernel allows it only on one's own
        // controlling terminal). It also takes job control away, so an interactive program on a
        // terminal keeps the caller's session, and the filter alone guards that terminal.
        if (!spec.TerminalStdin)
            a.Add("--new-session");

        // Root filesystem first: every later mount lands inside it.
        switch (spec.Root)
        {
            case SandboxRoot.MergedDirectory merged:
                a.AddRange(["--bind", merged.Path, "/"]);
                break;
            case SandboxRoot.KernelOverlay overlay:
                foreach (string lower in overlay.LowerBottomFirst)
                    a.AddRange(["--overlay-src", lower]);
                a.AddRange(["--overlay", overlay.Upper, overlay.Work, "/"]);
                break;
        }

        // Baseline: fresh /dev (a minimal device set) and /proc of the new PID namespace, a private
        // /tmp, /sys read-only (devices and kernel knobs stay the host's business).
        a.AddRange(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--ro-bind", "/sys", "/sys"]);
        a.AddRange(["--ro-bind-try", "/etc/group", "/etc/group"]);
        // The synthesised passwd (§9) is writable: package managers add system users to it.
        a.AddRange(["--bind", spec.Paths.Passwd, "/etc/passwd"]);
        // The bundled tools, read-only at the same paths, so PATH entries resolve inside, and their
        // libraries at the path their PT_INTERP and $ORIGIN-relative DT_RPATH name: the tools then
        // run in any guest, even one with no libc at all.
        foreach (string dir in spec.Paths.ToolDirectories)
            a.AddRange(["--ro-bind-try", dir, dir]);
        a.AddRange(["--ro-bind-try", spec.Paths.Bashrc, spec.Paths.Bashrc]);
        // The instance's own portal endpoints and nothing else of the runtime directory (§16d). The
        // daemon's directory is writable: fim_portal creates its socket there. The host's is
        // read-only: connecting to a socket needs no write access to its mount (path_resolution:
        // EROFS applies to regular files, directories and symlinks only), and the guest cannot
        // replace the socket the launcher listens on.
        a.AddRange(["--bind-try", spec.Paths.PortalDaemonDirectory, spec.Paths.PortalDaemonDirectory]);
        a.AddRange(["--ro-bind-try", spec.Paths.PortalDispatcherDirectory, spec.Paths.PortalDispatcherDirectory]);

        foreach (var mount in spec.UserBinds.Concat(spec.PermissionMounts))
            a.AddRange([mount.Option, mount.Source, mount.Destination]);

        a.AddRange(["--chdir", spec.WorkingDirectory]);
        a.Add("--");
        a.AddRange(spec.Command);
        Validate(a, spec);
        return a;
    }

    /// <summary>
    /// Re-checks the finished command line just before use, bubblewrap-style, even though the
    /// configuration was validated: no empty or relative mount path, and the program comes after "--".
    /// </summary>
    private static void Validate(List<string> args, SandboxSpec spec)
    {
        foreach (var mount in spec.UserBinds.Concat(spec.PermissionMounts))
        {
            if (!Path.IsPathRooted(mount.Source) || !Path.IsPathRooted(mount.Destination))
                throw new ArgumentException($"bind paths must be absolute: '{mount.Source}' -> '{mount.Destination}'");
        }
        if (spec.Command.Count == 0 || spec.Command[0].Length == 0)
            throw new ArgumentException("no program to run");
        if (args.IndexOf("--") != args.Count - spec.Command.Count - 1)
            throw new ArgumentException("program arguments are not separated from bwrap options");
    }
}
