namespace FlatImage.Runtime.Config;

/// <summary>How the writable layer is stacked on the read-only layers (docs/cli.md §3.8).</summary>
public enum OverlayKind : byte
{
    Bwrap,
    Overlayfs,
    Unionfs,
}
