using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Image;

/// <summary>
/// The readers of one run's layer stack, each opened at most once. Planning reads a few files
/// through them (<see cref="LayerStackFiles"/>: the account files, a directory's mode), and the
/// run's mount then takes them over instead of opening those layers again: every open checks and
/// decompresses a layer's whole metadata, and the blocks planning decompressed stay in the
/// reader's cache for the guest. The set owns what it opened until a reader is taken; disposing
/// it closes the rest.
/// </summary>
public sealed class LayerReaderSet(IReadOnlyList<LayerLocation> bottomToTop, LayerReaderOptions options) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly LayerReader?[] _readers = new LayerReader?[bottomToTop.Count]; // protected by _gate
    private bool _disposed; // protected by _gate

    /// <summary>The layers, bottom first.</summary>
    public IReadOnlyList<LayerLocation> Layers => bottomToTop;

    /// <summary>What every reader of the set was opened with.</summary>
    public LayerReaderOptions Options => options;

    /// <summary>
    /// The reader of layer <paramref name="index"/> (bottom first), opened on first use.
    /// Throws <see cref="InvalidLayerException"/> for a damaged layer.
    /// </summary>
    public LayerReader Get(int index)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var l = bottomToTop[index];
            return _readers[index] ??= LayerReader.Open(l.Path, l.Offset, l.Size, options);
        }
    }

    /// <summary>
    /// Hands the reader of layer <paramref name="index"/> over to the caller, who disposes it from
    /// then on; null when the set has not opened that layer.
    /// </summary>
    public LayerReader? Take(int index)
    {
        lock (_gate)
        {
            var reader = _readers[index];
            _readers[index] = null;
            return reader;
        }
    }

    /// <summary>Whether this set's readers serve exactly <paramref name="layers"/> with <paramref name="readerOptions"/>.</summary>
    public bool Serves(IReadOnlyList<LayerLocation> layers, LayerReaderOptions readerOptions) =>
        readerOptions == options && layers.SequenceEqual(bottomToTop);

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            for (int i = 0; i < _readers.Length; i++)
            {
                _readers[i]?.Dispose();
                _readers[i] = null;
            }
        }
    }
}
