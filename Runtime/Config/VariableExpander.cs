using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Runtime.Config;

/// <summary>
/// Shell-style expansion of stored values (docs/cli.md §8) with glibc's wordexp(3): the same
/// semantics FlatImage has, on the host, with the launcher's C environment. Only the first field
/// is kept; when expansion fails (syntax error, a bare <c>|</c> or <c>;</c>) the text is used as it is.
/// </summary>
public static class VariableExpander
{
    public static unsafe string Expand(string text)
    {
        if (text.Length == 0)
            return text;
        byte* words = (byte*)Marshal.StringToCoTaskMemUTF8(text);
        Wordexp.wordexp_t result = default;
        try
        {
            if (Wordexp.wordexp(words, &result, 0) != 0)
                return text;
            try
            {
                return result.we_wordc == 0 ? string.Empty : Marshal.PtrToStringUTF8((IntPtr)result.we_wordv[0]) ?? string.Empty;
            }
            finally
            {
                Wordexp.wordfree(&result);
            }
        }
        finally
        {
            Marshal.FreeCoTaskMem((IntPtr)words);
        }
    }
}
