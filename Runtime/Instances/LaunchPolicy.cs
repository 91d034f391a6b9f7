using System.Runtime.InteropServices;
using FlatImage.Runtime.Portal;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Instances;

/// <summary>What a run starts once its root is ready, or why it starts nothing.</summary>
public abstract record LaunchDecision
{
    /// <summary>
    /// Start bwrap with <paramref name="Arguments"/> and <paramref name="Environment"/> ("NAME=value"),
    /// handing it <paramref name="InheritedFds"/> at their child numbers; whoever starts it owns
    /// (and closes) those handles.
    /// </summary>
    public sealed record Launch(IReadOnlyList<string> Arguments, IReadOnlyList<string> Environment, IReadOnlyList<(SafeHandle Fd, int ChildFd)> InheritedFds) : LaunchDecision;

    /// <summary>Start nothing: one line for the user and the status a shell would give (125, 126, 127).</summary>
    public sealed record Refusal(string Message, int Status) : LaunchDecision;
}

/// <summary>
/// Turns a run plan and the sandbox's root into the bwrap command line, or a refusal. This is
/// the run's policy in one place: how the program is found (as the guest's shell would find it,
/// on the guest's PATH, with the bundled tools and binds on top), the bash → sh fallback of the
/// default boot, shell builtins, exit statuses 126 and 127, the working directory, the
/// environment, fim_portal as the guest's init, and the check that no mount point is redirected
/// by the writable layer. The instance actor only carries the decision out.
/// </summary>
public static class LaunchPolicy
{
    /// <summary>
    /// Names a POSIX shell answers itself. Run as a program they would not be found (or would be a
    /// different program): as FlatImage runs everything through the shell, <c>fim-exec command -v jq</c>
    /// works, so these go to the guest's shell when no program of that name is on its PATH.
    /// </summary>
    private static readonly HashSet<string> ShellBuiltins = new(StringComparer.Ordinal)
    {
        ".", ":", "alias", "bg", "break", "cd", "command", "continue", "eval", "exec", "exit", "export",
        "fc", "fg", "getopts", "hash", "jobs", "read", "readonly", "return", "set", "shift", "source",
        "times", "trap", "type", "ulimit", "umask", "unalias", "unset", "wait",
    };

    public static LaunchDecision Decide(RunPlan plan, SandboxRoot root)
    {
        var command = plan.Command.ToList();
        string cwd = "/";
        string path = plan.Environment.GetValueOrDefault("PATH") ?? "/usr/bin:/bin";
        // The guest sees the bundled tools, fim_portal and the binds on top of the root.
        var binds = plan.Paths.ToolDirectories.Select(d => new GuestBind(d, d))
            .Concat(plan.UserBinds.Concat(plan.PermissionMounts).Select(m => new GuestBind(m.Destination, m.Source)))
            .ToList();
        if (root is SandboxRoot.MergedDirectory merged)
        {
            // The default boot falls back from bash to sh for images without bash (busybox, blueprint).
            if (plan.CommandFromBoot && command[0] == "bash" && GuestPath.FindProgram(merged.Path, "bash", path, out _, binds) is null)
                command[0] = "sh";
            if (GuestPath.FindProgram(merged.Path, command[0], path, out bool executable, binds) is null)
            {
                if (!ShellBuiltins.Contains(command[0]))
                    return new LaunchDecision.Refusal($"Command not found: '{command[0]}'", 127);
                command = ThroughTheShell(plan, command);
            }
            else if (!executable)
            {
                return new LaunchDecision.Refusal($"Permission denied: '{command[0]}'", 126);
            }
            cwd = WorkingDirectory(merged.Path, plan);
        }
        else if (ShellBuiltins.Contains(command[0]))
        {
            // No host view of the kernel overlay's tree to look in: a builtin's name means the builtin.
            command = ThroughTheShell(plan, command);
        }

        var environment = plan.Environment.Select(kv => $"{kv.Key}={kv.Value}").ToList();
        if (plan.PortalInit is { } init)
        {
            // fim_portal is the guest's init: it starts the program and serves fim-instance exec.
            command.Insert(0, init);
            // Its value is the command word its own failure lines name: under the kernel overlay the
            // host has no view of the tree, so "Command not found" is the init's to say.
            environment.Add($"{PortalDaemon.InitVariable}={plan.Origin}");
        }
        var arguments = BwrapCommandLine.Build(plan.SandboxFor(root, command, cwd));
        try
        {
            MountPoints.CheckNotRedirected(plan.Paths.UpperDirectory, BwrapCommandLine.Destinations(arguments));
        }
        catch (UnsafeMountTargetException e)
        {
            return new LaunchDecision.Refusal(e.Message, 125);
        }
        // The seccomp filter (SeccompFilter: what each rule prevents), which bwrap reads from its fd
        // and installs before anything of the guest runs.
        var filter = SeccompFilter.Build(allowUserNamespaces: plan.Config.Unshare.HasFlag(Config.UnshareOptions.User));
        var inherited = new List<(SafeHandle, int)>
        {
            (Native.Io.SealedMemoryFile.Create("fim-seccomp", filter, avoidFd: SeccompFilter.ChildFd), SeccompFilter.ChildFd),
        };
        if (RootUserNamespace.AppliesTo(plan.Host))
        {
            try
            {
                inherited.Add((RootUserNamespace.Create(plan.BundledBin), RootUserNamespace.ChildFd));
            }
            catch (SandboxUnavailableException e)
            {
                foreach (var (fd, _) in inherited)
                    fd.Dispose();
                return new LaunchDecision.Refusal(e.Message, 125);
            }
        }
        return new LaunchDecision.Launch(arguments, environment, inherited);
    }

    /// <summary>
    /// <c>bash -c '"$@"' bash cmd args…</c>: the shell runs the words as one command, builtins
    /// included, with no expansion. The bundled bash when there is one (its builtins answer as
    /// FlatImage's do: <c>command -v</c> of a missing program is status 1), else the guest's sh.
    /// </summary>
    private static List<string> ThroughTheShell(RunPlan plan, List<string> command)
    {
        string shell = plan.BundledBash ?? "sh";
        return [shell, "-c", "\"$@\"", Path.GetFileName(shell), .. command];
    }

    /// <summary>The caller's directory if it exists inside (through a bind or in the image), else $HOME, else /.</summary>
    private static string WorkingDirectory(string mergedRoot, RunPlan plan)
    {
        bool Inside(string dir) =>
            plan.UserBinds.Concat(plan.PermissionMounts).Any(m => (dir + "/").StartsWith(m.Destination.TrimEnd('/') + "/", StringComparison.Ordinal) && Directory.Exists(m.Source))
            || (!BwrapCommandLine.HiddenByBaselineMounts(dir) && GuestPath.Resolve(mergedRoot, dir) is { } host && Directory.Exists(host));
        if (Inside(plan.HostWorkingDirectory))
            return plan.HostWorkingDirectory;
        return Inside(plan.Identity.Home) ? plan.Identity.Home : "/";
    }
}
