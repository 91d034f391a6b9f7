using System.Collections.Immutable;

namespace FlatImage.Runtime.Config;

/// <summary>
/// Everything the configuration commands change, as one immutable value. It is stored as JSON
/// in the image's reserved region (see <see cref="Image.ConfigStore"/>); commands derive a new
/// value with <c>with</c> and write it back whole.
/// </summary>
public sealed record ImageConfig
{
    public static readonly ImageConfig Default = new();

    /// <summary><c>FIM_DIST</c>: <c>BLUEPRINT</c> for the empty image, <c>DEBIAN</c> for debootstrap images.</summary>
    public string Distribution { get; init; } = "BLUEPRINT";
    public Permissions Permissions { get; init; }
    public UnshareOptions Unshare { get; init; }
    public OverlayKind Overlay { get; init; } = OverlayKind.Bwrap;
    public bool Casefold { get; init; }
    public bool Notify { get; init; }
    public BootCommand Boot { get; init; } = BootCommand.Default;

    /// <summary>Unexpanded <c>KEY=VALUE</c> pairs, sorted by key.</summary>
    public ImmutableSortedDictionary<string, string> Environment { get; init; } =
        ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);

    /// <summary>Binds by index, in index order (0..n-1 after every delete).</summary>
    public ImmutableSortedDictionary<int, BindEntry> Bindings { get; init; } = ImmutableSortedDictionary<int, BindEntry>.Empty;

    /// <summary>Recipe repository base URL, or null when none is configured.</summary>
    public string? RemoteUrl { get; init; }

    /// <summary>The desktop integration (<c>fim-desktop setup</c>), or null before any setup.</summary>
    public Desktop.DesktopIntegration? Desktop { get; init; }

    /// <summary>
    /// Where the last complete embedded layer ends (a file offset), recorded by <c>fim-layer add</c>
    /// and <c>commit binary</c> after the layer is on disk. Bytes after it are an interrupted
    /// append and are ignored; a layer before it that fails validation is an error, never a
    /// shorter stack. Null for images written before it was recorded: their chain ends at the
    /// first bytes that are not a layer.
    /// </summary>
    public long? LayersEnd { get; init; }

    public bool Equals(ImageConfig? other) =>
        other is not null
        && Distribution == other.Distribution && Permissions == other.Permissions && Unshare == other.Unshare
        && Overlay == other.Overlay && Casefold == other.Casefold && Notify == other.Notify
        && Boot.Program == other.Boot.Program && Boot.Args.SequenceEqual(other.Boot.Args)
        && Environment.SequenceEqual(other.Environment) && Bindings.SequenceEqual(other.Bindings)
        && RemoteUrl == other.RemoteUrl && Equals(Desktop, other.Desktop) && LayersEnd == other.LayersEnd;

    public override int GetHashCode() => HashCode.Combine(Distribution, Permissions, Unshare, Overlay, Boot.Program, Environment.Count, Bindings.Count);
}
