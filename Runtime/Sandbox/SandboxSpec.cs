using FlatImage.Runtime.Config;
using FlatImage.Runtime.Paths;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// Everything the sandbox's command line is built from, resolved on the host beforehand (paths
/// expanded). <see cref="TerminalStdin"/>: the program reads a terminal (an interactive shell), so
/// it keeps the caller's session and job control (see <see cref="BwrapCommandLine"/>).
/// </summary>
public sealed record SandboxSpec(
    SandboxRoot Root,
    Identity Identity,
    HostIdentity Host,
    Permissions Permissions,
    UnshareOptions Unshare,
    IReadOnlyList<SandboxMount> UserBinds,
    IReadOnlyList<SandboxMount> PermissionMounts,
    InstancePaths Paths,
    string WorkingDirectory,
    IReadOnlyList<string> Command,
    bool TerminalStdin = false);
