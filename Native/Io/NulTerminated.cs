using System.Buffers;

namespace FlatImage.Native.Io;

/// <summary>A pooled, NUL-terminated copy of a path for one libc call.</summary>
internal readonly ref struct NulTerminated
{
    private readonly byte[] _rented;

    public NulTerminated(ReadOnlySpan<byte> path)
    {
        // A NUL inside the path would silently cut it short in C.
        if (path.IndexOf((byte)0) >= 0)
            throw new ArgumentException("path contains a NUL byte", nameof(path));
        _rented = ArrayPool<byte>.Shared.Rent(path.Length + 1);
        path.CopyTo(_rented);
        _rented[path.Length] = 0;
    }

    public byte[] Bytes => _rented;

    public void Dispose() => ArrayPool<byte>.Shared.Return(_rented);
}
