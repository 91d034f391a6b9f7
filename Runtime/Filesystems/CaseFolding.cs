using System.Text;
using System.Text.Unicode;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// The key under which the casefold filesystem finds a name whatever its case: Unicode simple case
/// folding, one code point to one code point, as Windows (NTFS's upcase table) and Wine compare names.
/// Each code point is mapped to upper case, then that to lower case: this puts every member of a
/// simple folding class (k, K and the Kelvin sign; s, S and the long s; σ, ς and Σ) on one key.
/// Full foldings that change the length (ß to "ss") are not applied, as NTFS does not apply them.
/// Names that are not valid UTF-8 have no key: they are served byte-exact and matched exactly only.
/// </summary>
public static class CaseFolding
{
    /// <summary>The folded key of <paramref name="name"/>, or null when it is not valid UTF-8.</summary>
    public static string? Key(ReadOnlySpan<byte> name)
    {
        // ASCII, by far the common case, folds without decoding.
        bool ascii = true;
        foreach (byte b in name)
        {
            if (b >= 0x80)
            {
                ascii = false;
                break;
            }
        }
        if (ascii)
        {
            Span<char> chars = name.Length <= 512 ? stackalloc char[name.Length] : new char[name.Length];
            for (int i = 0; i < name.Length; i++)
            {
                byte b = name[i];
                chars[i] = (char)(b is >= (byte)'A' and <= (byte)'Z' ? b + 32 : b);
            }
            return new string(chars);
        }
        if (!Utf8.IsValid(name))
            return null;
        var folded = new StringBuilder(name.Length);
        foreach (var rune in Encoding.UTF8.GetString(name).EnumerateRunes())
            folded.Append(Fold(rune).ToString());
        return folded.ToString();
    }

    private static Rune Fold(Rune rune) => rune.Value switch
    {
        // .NET's invariant casing leaves out the simple foldings that cross into ASCII (or that its
        // ordinal casing excludes); CaseFolding.txt has them with status C or S.
        0x017F => new Rune('s'),       // LATIN SMALL LETTER LONG S
        0x212A => new Rune('k'),       // KELVIN SIGN
        0x212B => new Rune(0x00E5),    // ANGSTROM SIGN
        0x1E9E => new Rune(0x00DF),    // LATIN CAPITAL LETTER SHARP S
        _ => Rune.ToLowerInvariant(Rune.ToUpperInvariant(rune)),
    };
}
