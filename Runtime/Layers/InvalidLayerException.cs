namespace FlatImage.Runtime.Layers;

/// <summary>
/// A file (or file range) that is not a valid layer: bad magic, checksum or structure. When the
/// layer is part of a stack, <see cref="Index"/> is its place in it (docs/cli.md §13.1 numbering, as
/// <c>fim-layer list</c> shows) and the message names index, file and offset, so the one error
/// line a user sees says which layer to replace.
/// </summary>
public sealed class InvalidLayerException : Exception
{
    public InvalidLayerException(string path, string reason)
        : base($"invalid layer '{path}': {reason}")
    {
        LayerPath = path;
        Reason = reason;
    }

    private InvalidLayerException(string path, string reason, int index, long offset)
        : base(offset == 0
            ? $"Invalid layer {index} '{path}': {reason}"
            : $"Invalid layer {index} in '{path}' at offset {offset}: {reason}")
    {
        LayerPath = path;
        Reason = reason;
        Index = index;
        Offset = offset;
    }

    public string LayerPath { get; }
    public string Reason { get; }

    /// <summary>The layer's place in its stack, bottom = 0; null when it was opened on its own.</summary>
    public int? Index { get; }

    /// <summary>Where the layer starts in <see cref="LayerPath"/> (0 for a layer file).</summary>
    public long Offset { get; }

    /// <summary>The same failure, placed in a stack.</summary>
    public static InvalidLayerException InStack(string path, int index, long offset, string reason) => new(path, reason, index, offset);

    /// <summary>This failure, placed at <paramref name="index"/> of a stack.</summary>
    public InvalidLayerException At(int index, long offset) => new(LayerPath, Reason, index, offset);
}
