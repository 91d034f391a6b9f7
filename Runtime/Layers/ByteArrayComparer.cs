namespace FlatImage.Runtime.Layers;

/// <summary>Orders names and paths by their bytes (ordinal, unsigned), the order directories are stored in.</summary>
internal sealed class ByteArrayComparer : IComparer<byte[]?>
{
    public static readonly ByteArrayComparer Instance = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
}
