namespace FlatImage.Runtime.Layers;

/// <summary>A file (or file range) that is not a valid layer: bad magic, checksum or structure.</summary>
public sealed class InvalidLayerException : Exception
{
    public InvalidLayerException(string path, string reason)
        : base($"invalid layer '{path}': {reason}")
    {
        LayerPath = path;
        Reason = reason;
    }

    public string LayerPath { get; }
    public string Reason { get; }
}
