using Microsoft.Win32.SafeHandles;

namespace FlatImage.Native.Io;

/// <summary>
/// Reads that fill the buffer. <see cref="RandomAccess.Read(SafeFileHandle, Span{byte}, long)"/>
/// returns what one pread(2) gave, which may be less than asked before the end of the file (a
/// FUSE server or a pipe answering in pieces, a signal); every caller that wants N bytes reads
/// through here instead of writing the loop again.
/// </summary>
public static class FullRead
{
    /// <summary>Reads from <paramref name="offset"/> until <paramref name="buffer"/> is full or the file ends; fewer bytes than asked means the end of the file.</summary>
    public static int At(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = RandomAccess.Read(file, buffer[total..], offset + total);
            if (n == 0)
                break;
            total += n;
        }
        return total;
    }
}
