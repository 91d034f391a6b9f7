namespace FlatImage.Runtime.Commit;

/// <summary>Where <c>fim-layer commit</c> places the new layer (docs/cli.md §13.5).</summary>
public enum CommitMode
{
    /// <summary>Appended to the image as its new top embedded layer.</summary>
    Binary,
    /// <summary>Moved to the data directory's <c>layers/layer-NNN.layer</c>.</summary>
    Layer,
    /// <summary>Moved to a path the user gives, which must not exist.</summary>
    File,
}
