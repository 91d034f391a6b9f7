using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Paths;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// Everything one run needs, decided on the host before anything is mounted: which layers, which
/// overlay, who the program runs as, its environment and binds. The instance actors carry it out.
/// </summary>
public sealed record RunPlan(
    string ImagePath,
    string LauncherPath,
    InstancePaths Paths,
    IReadOnlyList<LayerLocation> Layers,
    OverlayKind Overlay,
    string? OverlayProgram,
    string Bwrap,
    Identity Identity,
    HostIdentity Host,
    ImageConfig Config,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<SandboxMount> UserBinds,
    IReadOnlyList<SandboxMount> PermissionMounts,
    IReadOnlyList<string> Command,
    bool CommandFromBoot,
    string HostWorkingDirectory,
    string? PortalInit)
{
    /// <summary>The command word a failure line names (<c>fim-exec</c>, <c>fim-root</c>, <c>fim</c> for the default boot).</summary>
    public string Origin { get; init; } = "fim";

    /// <summary>
    /// The image's extracted tools directory when its programs can run (docs/cli.md §6); null when
    /// they cannot (no bundle, or a noexec runtime directory) and the host's tools stand in.
    /// </summary>
    public string? BundledBin { get; init; }

    /// <summary>
    /// The readers planning opened on <see cref="Layers"/>; the run's mount takes them over
    /// (<see cref="LayerReaderSet"/>). The run disposes the set when it ends, closing any reader
    /// the mount did not take.
    /// </summary>
    public LayerReaderSet? OpenedLayers { get; init; }

    /// <summary>The bundled bash (docs/cli.md §9: the default shell, and the one that runs a command through the shell); null when <see cref="BundledBin"/> has none.</summary>
    public string? BundledBash { get; init; }

    /// <summary>
    /// FIM_PROFILE=1: where the run's start profile goes (the data directory's
    /// <see cref="Layers.StartProfile.FileName"/>); null when the run does not record one.
    /// </summary>
    public string? StartProfilePath { get; init; }

    /// <summary>
    /// The program the run's janitor is (docs/architecture.md, "Runtime directories"): the bundled
    /// fim_portal when the bundle can run, since it starts in a fraction of the launcher's time and
    /// the janitor starts while the run does; else the launcher itself.
    /// </summary>
    public string JanitorProgram => PortalInit ?? LauncherPath;

    /// <summary>The run may call host commands through fim_portal (docs/cli.md §16b).</summary>
    public bool HostPortal => Config.Permissions.HasFlag(Permissions.Portal);

    /// <summary>Unprivileged runs squash ownership to the caller (docs/architecture.md "Writable overlay").</summary>
    public bool Unprivileged => Host.Uid != 0;

    /// <summary>The sandbox command line once the root is known.</summary>
    public SandboxSpec SandboxFor(SandboxRoot root, IReadOnlyList<string> command, string workingDirectory) => new(
        root, Identity, Host, Config.Permissions, Config.Unshare, UserBinds, PermissionMounts, Paths, workingDirectory, command,
        TerminalStdin: Native.Interop.Unistd.isatty(0) == 1);
}
