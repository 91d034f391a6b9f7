// Ours: Tmds.LibC 0.5.0 has no wordexp.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>
/// Mirror of &lt;wordexp.h&gt;. glibc's wordexp(3) is the POSIX shell expansion FlatImage uses for
/// fim-env values and binds: variables, ~, arithmetic, command substitution (run by /bin/sh),
/// quote removal, field splitting and globbing.
/// </summary>
public static unsafe partial class Wordexp
{
    public const int WRDE_NOCMD = 1 << 2;
    public const int WRDE_UNDEF = 1 << 5;
    public const int WRDE_NOSPACE = 1;
    public const int WRDE_BADCHAR = 2;
    public const int WRDE_BADVAL = 3;
    public const int WRDE_CMDSUB = 4;
    public const int WRDE_SYNTAX = 5;

    [StructLayout(LayoutKind.Sequential)]
    public struct wordexp_t
    {
        public nuint we_wordc;
        public byte** we_wordv;
        public nuint we_offs;
    }

    [LibraryImport("libc", EntryPoint = "wordexp")]
    public static partial int wordexp(byte* words, wordexp_t* pwordexp, int flags);

    [LibraryImport("libc", EntryPoint = "wordfree")]
    public static partial void wordfree(wordexp_t* pwordexp);
}
