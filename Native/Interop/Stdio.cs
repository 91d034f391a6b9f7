// Ours: Tmds.LibC 0.5.0 has no renameat.
using System.Runtime.InteropServices;

namespace FlatImage.Native.Interop;

/// <summary>
/// Mirror of the one &lt;stdio.h&gt; call we need that Tmds.LibC 0.5 does not declare: renameat(2),
/// to replace an entry relative to a directory fd (a tree the guest controls is never walked by path).
/// </summary>
public static unsafe partial class Stdio
{
    private const string Libc = "libc";

    [LibraryImport(Libc, SetLastError = true)]
    public static partial int renameat(int olddirfd, byte* oldpath, int newdirfd, byte* newpath);
}
