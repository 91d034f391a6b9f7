namespace FlatImage.Runtime.Layers;

/// <summary>
/// A size-bounded LRU cache of decompressed blocks, shared by all reader threads, whose buffers
/// are recycled.
///
/// Overview. The map, the LRU list, every reference count and the free list are protected by
/// <c>_gate</c>, held only for those updates. Loading happens outside it, under the entry's own
/// lock, so two threads that want the same block decompress it once (the second waits for the
/// first), while threads that want different blocks decompress in parallel. A failed load (EIO)
/// is not cached: the entry is removed and a later read tries again.
///
/// Buffers. Every block is decompressed into a buffer of the layer's block size, taken from the
/// free list when one is there. A buffer goes back to the free list only when nobody can read it
/// any more: an entry counts one reference for the cache itself while it is in the map, and one for
/// every reader holding a <see cref="Lease"/>; eviction drops the cache's reference, the last
/// lease's Dispose the last one. So a reader still copying from an evicted block is never
/// overwritten under it, and a run that reads many blocks allocates only as many buffers as it
/// holds at once, instead of a fresh large-object array per block (each of which counted toward
/// a full, stop-the-world collection).
/// </summary>
internal sealed class BlockCache
{
    internal sealed class Entry(int index)
    {
        public readonly int Index = index;
        public byte[]? Buffer;              // set once, before Loaded; null if the load failed
        public int Length;                  // bytes of Buffer that are the block
        public volatile bool Loaded;
        public int References = 1;          // protected by _gate: the cache's own, plus one per lease
        public LinkedListNode<Entry>? Node; // protected by _gate
        public bool Accounted;              // protected by _gate: Length is in _bytes
    }

    /// <summary>
    /// A block held for reading: its bytes stay valid until <see cref="Dispose"/>. The default
    /// value stands for a block that could not be read (EIO).
    /// </summary>
    public readonly struct Lease : IDisposable
    {
        private readonly BlockCache? _cache;
        private readonly Entry? _entry;

        internal Lease(BlockCache cache, Entry entry)
        {
            _cache = cache;
            _entry = entry;
        }

        public bool Valid => _entry is not null;

        public ReadOnlySpan<byte> Data => _entry is { } e ? e.Buffer.AsSpan(0, e.Length) : default;

        public void Dispose() => _cache?.Release(_entry!);
    }

    /// <summary>Loads block <c>index</c> into the buffer; returns its length, or -1 when it cannot be read (EIO).</summary>
    public delegate int Loader(int index, byte[] buffer);

    private readonly object _gate = new();
    private readonly Dictionary<int, Entry> _map = new(); // protected by _gate
    private readonly LinkedList<Entry> _lru = new();       // protected by _gate; most recent first
    private readonly Stack<byte[]> _free = new();          // protected by _gate
    private long _bytes;                                   // protected by _gate
    private readonly long _capacity;
    private readonly int _bufferSize;
    private readonly int _maxFree;
    private readonly Loader _load;

    public BlockCache(long capacityBytes, int bufferSize, Loader load)
    {
        _capacity = Math.Max(0, capacityBytes);
        _bufferSize = bufferSize;
        // Enough for a full cache turning over; beyond that, buffers are left to the GC.
        _maxFree = (int)Math.Clamp(_capacity / bufferSize, 1, 64) + 2;
        _load = load;
    }

    /// <summary>The decompressed block, held until the lease is disposed; an invalid lease when it cannot be read (EIO).</summary>
    public Lease Get(int index)
    {
        Entry entry;
        lock (_gate)
        {
            if (_map.TryGetValue(index, out var found))
            {
                entry = found;
                if (entry.Node is { } node)
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                }
            }
            else
            {
                entry = new Entry(index);
                entry.Node = _lru.AddFirst(entry);
                _map.Add(index, entry);
            }
            // Taken while the entry is in the map, so its cache reference keeps it from being recycled meanwhile.
            entry.References++;
        }
        if (!entry.Loaded)
            Load(entry);
        if (entry.Buffer is null)
        {
            Release(entry);
            return default;
        }
        return new Lease(this, entry);
    }

    private void Load(Entry entry)
    {
        lock (entry)
        {
            if (entry.Loaded)
                return;
            byte[] buffer = Rent();
            int length = _load(entry.Index, buffer);
            lock (_gate)
            {
                if (length < 0)
                {
                    Recycle(buffer);
                    if (entry.Node is not null)
                        Remove(entry);
                }
                else
                {
                    entry.Buffer = buffer;
                    entry.Length = length;
                    if (entry.Node is not null)
                    {
                        // (Evicted while loading: the data still serves the threads waiting on it.)
                        _bytes += length;
                        entry.Accounted = true;
                        Evict();
                    }
                }
            }
            entry.Loaded = true;
        }
    }

    private void Release(Entry entry)
    {
        lock (_gate)
            Unreference(entry);
    }

    /// <summary>Under <c>_gate</c>: one reference less; the last one gives the buffer back.</summary>
    private void Unreference(Entry entry)
    {
        if (--entry.References == 0 && entry.Buffer is { } buffer)
        {
            entry.Buffer = null;
            Recycle(buffer);
        }
    }

    private byte[] Rent()
    {
        lock (_gate)
        {
            if (_free.TryPop(out var buffer))
                return buffer;
        }
        return GC.AllocateUninitializedArray<byte>(_bufferSize);
    }

    /// <summary>Under <c>_gate</c>.</summary>
    private void Recycle(byte[] buffer)
    {
        if (_free.Count < _maxFree)
            _free.Push(buffer);
    }

    private void Evict()
    {
        // Keep at least the newest block: it is the one being read right now.
        while (_bytes > _capacity && _lru.Last is { } last && last != _lru.First)
            Remove(last.Value);
    }

    /// <summary>Under <c>_gate</c>: out of the map and the LRU list, and the cache's reference dropped.</summary>
    private void Remove(Entry entry)
    {
        _map.Remove(entry.Index);
        if (entry.Node is { } node)
        {
            _lru.Remove(node);
            entry.Node = null;
            if (entry.Accounted)
                _bytes -= entry.Length;
            entry.Accounted = false;
            Unreference(entry);
        }
    }
}
