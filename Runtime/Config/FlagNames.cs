namespace FlatImage.Runtime.Config;

/// <summary>
/// The lower-case names of a flags enum, in alphabetical order (the order <c>list</c> prints),
/// and the parsing of one name. Shared by permissions and unshare options, which follow the same rules.
/// </summary>
public sealed class FlagNames<T> where T : struct, Enum
{
    private readonly (string Name, ulong Bit)[] _sorted;

    public FlagNames(params (string Name, T Flag)[] names)
    {
        _sorted = names
            .Select(n => (n.Name, Convert.ToUInt64(n.Flag)))
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .ToArray();
    }

    public IEnumerable<string> Names => _sorted.Select(n => n.Name);

    public bool TryParse(string name, out ulong bit)
    {
        foreach (var (n, b) in _sorted)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) { bit = b; return true; }
        bit = 0;
        return false;
    }

    /// <summary>The names of the bits set in <paramref name="value"/>, sorted.</summary>
    public IEnumerable<string> Format(ulong value) => _sorted.Where(n => (value & n.Bit) != 0).Select(n => n.Name);
}
