using System.Runtime.InteropServices;

namespace FlatImage.Native;

/// <summary>
/// A failed libc call: the errno, the operation that failed and the path it was about.
/// The message reads like bwrap's diagnostics: <c>&lt;operation&gt; &lt;path&gt;: &lt;strerror&gt;</c>.
/// This is the one place where errno becomes an exception; everything below <c>Native/</c>'s
/// public API returns raw results.
/// </summary>
public sealed class ErrnoException : IOException
{
    public ErrnoException(int errno, string operation, string? path = null)
        : base(Format(errno, operation, path))
    {
        Errno = errno;
        Operation = operation;
        PathName = path;
        HResult = errno;
    }

    public int Errno { get; }
    public string Operation { get; }
    public string? PathName { get; }

    /// <summary>Throws for the errno the last P/Invoke left behind.</summary>
    public static ErrnoException FromLastError(string operation, string? path = null)
        => new(Marshal.GetLastPInvokeError(), operation, path);

    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    private static string Format(int errno, string operation, string? path)
        => path is null ? $"{operation}: {StrError(errno)}" : $"{operation} {path}: {StrError(errno)}";
}
