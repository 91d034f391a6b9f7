namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// The names of one directory by folded key (<see cref="CaseFolding.Key"/>): which stored name(s)
/// a lookup in any case means. Built once from a listing of the directory and kept current by the
/// casefold filesystem's own creates, renames and unlinks, so a lookup never lists the directory
/// again. A key usually has one name; a directory that came from a Linux layer may hold several
/// names that differ only in case, which all stay listed and reachable by their exact spelling.
/// Names that are not valid UTF-8 are not indexed (they match only exactly). Not thread-safe: the
/// owner serializes access (the directory's lock).
/// </summary>
public sealed class FoldIndex
{
    // A key's stored names: a byte[] for the usual one name, a List<byte[]> for several.
    private readonly Dictionary<string, object> _byKey = new(StringComparer.Ordinal);

    /// <summary>Indexed names (invalid UTF-8 names excluded).</summary>
    public int Count { get; private set; }

    /// <summary>
    /// Adds a stored name. Returns true when the key now has several names (an ambiguity the
    /// caller may log once); false otherwise, including for a name that has no key.
    /// </summary>
    public bool Add(ReadOnlySpan<byte> name)
    {
        var key = CaseFolding.Key(name);
        if (key is null)
            return false;
        if (!_byKey.TryGetValue(key, out var existing))
        {
            _byKey[key] = name.ToArray();
            Count++;
            return false;
        }
        if (existing is byte[] one)
        {
            if (one.AsSpan().SequenceEqual(name))
                return false;
            _byKey[key] = new List<byte[]> { one, name.ToArray() };
            Count++;
            return true;
        }
        var many = (List<byte[]>)existing;
        foreach (var n in many)
        {
            if (n.AsSpan().SequenceEqual(name))
                return true;
        }
        many.Add(name.ToArray());
        Count++;
        return true;
    }

    /// <summary>Removes a stored name (exact bytes). Returns whether it was indexed.</summary>
    public bool Remove(ReadOnlySpan<byte> name)
    {
        var key = CaseFolding.Key(name);
        if (key is null || !_byKey.TryGetValue(key, out var existing))
            return false;
        if (existing is byte[] one)
        {
            if (!one.AsSpan().SequenceEqual(name))
                return false;
            _byKey.Remove(key);
            Count--;
            return true;
        }
        var many = (List<byte[]>)existing;
        for (int i = 0; i < many.Count; i++)
        {
            if (!many[i].AsSpan().SequenceEqual(name))
                continue;
            many.RemoveAt(i);
            if (many.Count == 1)
                _byKey[key] = many[0];
            Count--;
            return true;
        }
        return false;
    }

    /// <summary>
    /// The stored name <paramref name="name"/> means: itself when stored (the exact spelling wins),
    /// else the one name of its key, else, when several names share the key and none is spelled
    /// exactly so, the ordinally smallest (stable across runs) with <paramref name="ambiguous"/> set.
    /// Null when nothing matches or the name has no key.
    /// </summary>
    public byte[]? Find(ReadOnlySpan<byte> name, out bool ambiguous)
    {
        ambiguous = false;
        var key = CaseFolding.Key(name);
        if (key is null || !_byKey.TryGetValue(key, out var existing))
            return null;
        if (existing is byte[] one)
            return one;
        var many = (List<byte[]>)existing;
        byte[]? smallest = null;
        foreach (var n in many)
        {
            if (n.AsSpan().SequenceEqual(name))
                return n;
            if (smallest is null || n.AsSpan().SequenceCompareTo(smallest) < 0)
                smallest = n;
        }
        ambiguous = true;
        return smallest;
    }
}
