namespace FlatImage.Runtime.Sandbox;

/// <summary>What becomes the sandbox's <c>/</c>.</summary>
public abstract record SandboxRoot
{
    private SandboxRoot() { }

    /// <summary>A directory already merged on the host (fuse-overlayfs or unionfs-fuse): bound read-write at /.</summary>
    public sealed record MergedDirectory(string Path) : SandboxRoot;

    /// <summary>
    /// bubblewrap's own kernel overlay (bwrap &gt;= 0.9, <c>--overlay-src</c>): lower layers listed bottom
    /// first, as bwrap stacks each new source on top of the previous ones.
    /// </summary>
    public sealed record KernelOverlay(IReadOnlyList<string> LowerBottomFirst, string Upper, string Work) : SandboxRoot;
}
