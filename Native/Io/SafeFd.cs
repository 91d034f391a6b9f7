using System.Runtime.InteropServices;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Io;

/// <summary>An owned file descriptor: -1 is invalid, release closes it.</summary>
public sealed class SafeFd : SafeHandle
{
    public SafeFd() : base(new IntPtr(-1), ownsHandle: true) { }

    public SafeFd(int fd, bool ownsHandle = true) : base(new IntPtr(-1), ownsHandle) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The raw number; callers that pass it to a syscall hold a DangerousAddRef.</summary>
    public int Fd => (int)handle.ToInt64();

    protected override bool ReleaseHandle() => Unistd.close((int)handle.ToInt64()) == 0;
}
