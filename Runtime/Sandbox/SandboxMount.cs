namespace FlatImage.Runtime.Sandbox;

/// <summary>One host path made visible in the sandbox. Every permission and user bind is a "try" bind: a missing source is skipped.</summary>
public sealed record SandboxMount(SandboxMountKind Kind, string Source, string Destination)
{
    /// <summary>The bwrap option for this mount (bwrap(1)): the <c>-try</c> forms skip a missing source.</summary>
    public string Option => Kind switch
    {
        SandboxMountKind.ReadOnly => "--ro-bind-try",
        SandboxMountKind.ReadWrite => "--bind-try",
        _ => "--dev-bind-try",
    };

    /// <summary>
    /// Whether a destination could end outside the container's root: any ".." component. bwrap
    /// resolves a destination after its pivot, where "/.." of the new root is a way back to the
    /// host's tree (/oldroot), so such a path is never passed on, however it normalises.
    /// </summary>
    public static bool LeavesRoot(string destination) =>
        destination.Split('/').Any(part => part == "..");

    /// <summary>
    /// Whether one of <paramref name="mounts"/> lands exactly on <paramref name="guestPath"/> (a
    /// trailing slash aside): such a directory is the host's, so the run must not make it itself.
    /// </summary>
    public static bool AnyAt(IEnumerable<SandboxMount> mounts, string guestPath) =>
        mounts.Any(m => m.Destination.TrimEnd('/') == guestPath.TrimEnd('/'));
}

public enum SandboxMountKind : byte
{
    ReadOnly,
    ReadWrite,
    /// <summary>Device nodes stay usable (bwrap mounts other binds nodev).</summary>
    Device,
}
