using System.Runtime.InteropServices;
using System.Threading.Channels;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Fuse;

public sealed partial class FuseSession
{
    // Unbounded: a notification is a few dozen bytes and comes with a change the guest made; losing
    // one would leave a stale name in the kernel's cache. One reader: the notifier loop.
    private readonly Channel<byte[]> _notifications = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private int _notifierStarted; // Interlocked

    /// <summary>
    /// Tells the kernel to drop its cached binding of <paramref name="name"/> in directory
    /// <paramref name="parent"/> (FUSE_NOTIFY_INVAL_ENTRY), so the next use of the name asks LOOKUP
    /// again. Queued and written by a separate loop, never by the caller: a handler may call this
    /// while the kernel holds the directory's lock for the request being served, and the kernel takes
    /// that lock to process the notification (fuse_lowlevel.h warns of the deadlock).
    /// </summary>
    public void InvalidateEntry(ulong parent, ReadOnlySpan<byte> name)
    {
        int headerSize = FuseReply.HeaderSize, argSize = Marshal.SizeOf<fuse_notify_inval_entry_out>();
        var message = new byte[headerSize + argSize + name.Length + 1];
        ref var header = ref MemoryMarshal.AsRef<fuse_out_header>(message.AsSpan());
        header.len = (uint)message.Length;
        header.error = FuseKernel.FUSE_NOTIFY_INVAL_ENTRY;
        header.unique = 0;
        ref var arg = ref MemoryMarshal.AsRef<fuse_notify_inval_entry_out>(message.AsSpan(headerSize));
        arg.parent = parent;
        arg.namelen = (uint)name.Length;
        name.CopyTo(message.AsSpan(headerSize + argSize));
        if (Interlocked.Exchange(ref _notifierStarted, 1) == 0)
            _ = Task.Run(NotifyLoop);
        _notifications.Writer.TryWrite(message);
    }

    private async Task NotifyLoop()
    {
        await foreach (var message in _notifications.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (_ended) return;
            bool added = false;
            try
            {
                _device.DangerousAddRef(ref added);
                unsafe
                {
                    fixed (byte* m = message)
                    {
                        while (Unistd.write(_device.Fd, m, (nuint)message.Length) < 0)
                        {
                            int e = Marshal.GetLastPInvokeError();
                            if (e == Errno.EINTR) continue;
                            // ENOENT: the kernel had nothing cached under that name. ENODEV: unmounted.
                            if (e is not (Errno.ENOENT or Errno.ENODEV))
                                Report(new FuseWorkerFault(-1, null, new ErrnoException(e, "write notification", "/dev/fuse"), WorkerStopped: false));
                            break;
                        }
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                return; // the device was closed: the session is over
            }
            finally
            {
                if (added) _device.DangerousRelease();
            }
        }
    }
}
