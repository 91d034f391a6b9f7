using System.Text;

namespace FlatImage.Runtime.Recipes;

/// <summary>
/// Text from a remote (a redirect target, a name in a recipe, a server's reason phrase) goes into
/// a one-line message: control characters, which could start a new line or move the cursor on a
/// terminal, are shown escaped, and very long values are cut.
/// </summary>
public static class Printable
{
    private const int MaxLength = 300;

    public static string Of(string text) => Escape(text, MaxLength);

    /// <summary>As <see cref="Of"/>, without the length cap: for text that is the output itself (a description).</summary>
    public static string Line(string text) => Escape(text, int.MaxValue);

    private static string Escape(string text, int maxLength)
    {
        var s = new StringBuilder(Math.Min(text.Length, 1024));
        foreach (char c in text)
        {
            if (s.Length >= maxLength)
            {
                s.Append("...");
                break;
            }
            if (char.IsControl(c))
                s.Append($"\\x{(int)c:x2}");
            else
                s.Append(c);
        }
        return s.ToString();
    }
}
