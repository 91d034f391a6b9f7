using System.Runtime.InteropServices;

namespace FlatImage.Native.Fuse;

/// <summary>
/// One worker's fd and pooled buffers. They outlive the worker's thread, so that a restarted
/// worker continues on the same clone of the connection. The buffers are pinned for the
/// session's lifetime: requests are parsed and replies built in place, without allocation.
/// </summary>
internal sealed unsafe class FuseWorker : IDisposable
{
    private readonly byte[] _in;
    private readonly byte[] _out;
    private readonly bool _ownsDevice;

    public FuseWorker(int index, FuseDeviceHandle device, bool ownsDevice, int inSize, int outSize)
    {
        Index = index;
        Device = device;
        _ownsDevice = ownsDevice;
        _in = GC.AllocateUninitializedArray<byte>(inSize, pinned: true);
        _out = GC.AllocateUninitializedArray<byte>(outSize, pinned: true);
        In = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_in, 0);
        Out = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_out, 0);
    }

    public int Index { get; }
    public FuseDeviceHandle Device { get; }
    public Thread? Thread { get; set; }

    /// <summary>The worker's loop failed and it awaits RestartWorker.</summary>
    public volatile bool Stopped;
    public byte* In { get; }
    public int InSize => _in.Length;
    public byte* Out { get; }

    /// <summary>The reply payload area, at most <paramref name="limit"/> bytes.</summary>
    public Span<byte> OutPayload(uint limit)
    {
        int room = _out.Length - FuseReply.HeaderSize;
        return _out.AsSpan(FuseReply.HeaderSize, (int)Math.Min((uint)room, limit));
    }

    public void Dispose()
    {
        if (_ownsDevice) Device.Dispose();
    }
}
