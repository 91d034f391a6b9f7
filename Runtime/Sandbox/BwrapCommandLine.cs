using FlatImage.Runtime.Config;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The bubblewrap command line of a run (bwrap(1)). The default is "zero access" (docs/cli.md §16d):
/// the sandbox sees the image's merged tree, fresh /dev and /proc, a private /tmp, a read-only
/// /sys, its own PID namespace and — unless the <c>network</c> permission is granted — its own
/// network namespace with loopback only. Everything else is added by a permission or a fim-bind.
/// Mount order follows docs/cli.md §4: baseline, user binds, then permissions.
/// </summary>
public static class BwrapCommandLine
{
    /// <summary>What the sandbox mounts of its own over the merged tree: nothing of the tree shows below them.</summary>
    public static readonly IReadOnlyList<string> BaselineMounts = ["/dev", "/proc", "/tmp", "/sys"];

    /// <summary>Whether <paramref name="guestPath"/> (absolute) lies below one of the <see cref="BaselineMounts"/> (the mount points themselves exist).</summary>
    public static bool HiddenByBaselineMounts(string guestPath) =>
        BaselineMounts.Any(m => guestPath.StartsWith(m + "/", StringComparison.Ordinal));

    public static List<string> Build(SandboxSpec spec)
    {
        var a = new List<string>();

        // The sandbox dies with the launcher: a killed launcher never leaves an orphaned program
        // running on mounts that are about to be torn down. This is PR_SET_PDEATHSIG, which follows
        // the thread that started bwrap; Native.Spawn starts every child from one thread that lives
        // as long as the launcher, so it fires on the launcher's death and nothing else.
        a.Add("--die-with-parent");

        // Namespaces. Every run gets a user namespace, root callers included. Inside it the guest
        // may be uid 0 with a full capability set, but capabilities of a user namespace act only on
        // what that namespace owns (its own mount, PID and network namespaces), never on the host:
        // no CAP_DAC_READ_SEARCH in the initial namespace (open_by_handle_at cannot reach the host's
        // filesystems), no remount of a host mount (they are locked), no sethostname of the host's
        // UTS namespace, no module loading. A root caller's namespace maps every id to itself
        // (RootUserNamespace, joined from an inherited fd), so its files belong to the same ids as
        // before; the private data directory keeps them from other users. An unprivileged caller
        // gets bwrap's own namespace, with its one uid: bwrap is not setuid and cannot mount without it.
        if (RootUserNamespace.AppliesTo(spec.Host))
            a.AddRange(["--userns", RootUserNamespace.ChildFd.ToString()]);
        else
            a.Add("--unshare-user");
        a.AddRange(["--uid", spec.Identity.Uid.ToString(), "--gid", spec.Identity.Gid.ToString()]);
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
        a.AddRange(["--dev", BaselineMounts[0], "--proc", BaselineMounts[1], "--tmpfs", BaselineMounts[2], "--ro-bind", BaselineMounts[3], BaselineMounts[3]]);
        // A $HOME below /tmp cannot live in the writable layer (the private /tmp hides it there):
        // it is made in that /tmp, for the run, so programs that write dotfiles still work.
        string home = spec.Identity.Home;
        if (home.StartsWith(BaselineMounts[2] + "/", StringComparison.Ordinal) && !home.Split('/').Contains("..")
            && !SandboxMount.AnyAt(spec.UserBinds.Concat(spec.PermissionMounts), home))
            a.AddRange(["--perms", "0700", "--dir", home]);
        // No bind over /etc/passwd or /etc/group: they are the image's own files in the merged tree,
        // with the caller's entry put in by GuestAccounts, so package managers can replace them.
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

    /// <summary>Every path inside the sandbox that <paramref name="args"/> mounts on, in order.</summary>
    public static IEnumerable<string> Destinations(IReadOnlyList<string> args)
    {
        for (int i = 0; i < args.Count && args[i] != "--"; i++)
        {
            switch (args[i])
            {
                case "--dev" or "--proc" or "--tmpfs" or "--mqueue" when i + 1 < args.Count:
                    yield return args[++i];
                    break;
                case "--bind" or "--bind-try" or "--ro-bind" or "--ro-bind-try" or "--dev-bind" or "--dev-bind-try" when i + 2 < args.Count:
                    i += 2;
                    yield return args[i];
                    break;
                case "--overlay" when i + 3 < args.Count:
                    i += 3;
                    yield return args[i];
                    break;
            }
        }
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
