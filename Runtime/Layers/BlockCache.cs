namespace FlatImage.Runtime.Layers;

/// <summary>
/// A size-bounded LRU cache of decompressed blocks, shared by all reader threads.
///
/// Overview. The map and the LRU list are protected by <c>_gate</c>, held only for
/// dictionary and list updates. Loading happens outside it, under the entry's own lock, so two
/// threads that want the same block decompress it once (the second waits for the first), while
/// threads that want different blocks decompress in parallel. A failed load (EIO) is not
/// cached: the entry is removed and a later read tries again. Evicted arrays are never reused,
/// so a thread still copying from one is safe; the GC frees it.
/// </summary>
internal sealed class BlockCache
{
    private sealed class Entry(int index)
    {
        public readonly int Index = index;
        public byte[]? Data;
        public volatile bool Loaded;
        public LinkedListNode<Entry>? Node; // protected by _gate
        public bool Accounted;              // protected by _gate: Data.Length is in _bytes
    }

    private readonly object _gate = new();
    private readonly Dictionary<int, Entry> _map = new(); // protected by _gate
    private readonly LinkedList<Entry> _lru = new();       // protected by _gate; most recent first
    private long _bytes;                                   // protected by _gate
    private readonly long _capacity;
    private readonly Func<int, byte[]?> _load;

    public BlockCache(long capacityBytes, Func<int, byte[]?> load)
    {
        _capacity = Math.Max(0, capacityBytes);
        _load = load;
    }

    /// <summary>The decompressed block, or null when it cannot be read (EIO).</summary>
    public byte[]? Get(int index)
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
        }
        if (entry.Loaded)
            return entry.Data;
        lock (entry)
        {
            if (!entry.Loaded)
            {
                entry.Data = _load(index);
                lock (_gate)
                {
                    if (entry.Node is null)
                    {
                        // Evicted while loading: the data still serves the threads waiting on it.
                    }
                    else if (entry.Data is null)
                    {
                        Remove(entry);
                    }
                    else
                    {
                        _bytes += entry.Data.Length;
                        entry.Accounted = true;
                        Evict();
                    }
                }
                entry.Loaded = true;
            }
            return entry.Data;
        }
    }

    private void Evict()
    {
        // Keep at least the newest block: it is the one being read right now.
        while (_bytes > _capacity && _lru.Last is { } last && last != _lru.First)
            Remove(last.Value);
    }

    private void Remove(Entry entry)
    {
        _map.Remove(entry.Index);
        if (entry.Node is { } node)
        {
            _lru.Remove(node);
            entry.Node = null;
            if (entry.Accounted)
                _bytes -= entry.Data!.Length;
            entry.Accounted = false;
        }
    }
}
