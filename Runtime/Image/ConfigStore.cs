using System.Text.Json;
using FlatImage.Native;
using FlatImage.Runtime.Config;
using Microsoft.Win32.SafeHandles;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Image;

/// <summary>
/// Reads and writes the configuration in an image's reserved region.
///
/// Overview: the region holds two slots (<see cref="ConfigSlot"/>). Readers take no lock: they
/// decode both slots and use the valid one with the higher sequence, and a slot being written
/// fails its CRC until the write is complete, so a reader sees the old or the new configuration,
/// never a mix. Writers serialize on an exclusive flock(2) of the image file, write the slot that
/// does not hold the newest configuration, and fsync before they release the lock; a writer killed
/// half-way leaves the previous configuration intact in the other slot.
/// </summary>
public static class ConfigStore
{
    /// <summary>Test hook: write half a slot, create this marker file, and stall (a test then SIGKILLs us).</summary>
    public const string StallVariable = "FIM_TEST_STALL_CONFIG_WRITE";

    /// <summary>Reads the current configuration.</summary>
    /// <exception cref="InvalidImageException">both slots are damaged.</exception>
    public static ImageConfig Read(string imagePath)
    {
        using var file = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read);
        return Read(file, imagePath, ImageLayout.Read(file), tolerateDamage: false);
    }

    /// <summary>
    /// Applies <paramref name="change"/> to the stored configuration under the image lock.
    /// With <paramref name="replacesDamaged"/> (the <c>set</c> and <c>clear</c> operations), a damaged
    /// region is replaced by a fresh configuration instead of failing.
    /// </summary>
    public static ImageConfig Update(string imagePath, Func<ImageConfig, ImageConfig> change, bool replacesDamaged = false)
    {
        using var file = OpenForWriting(imagePath);
        using var held = Lock(file, imagePath);
        return UpdateLocked(file, imagePath, change, replacesDamaged);
    }

    /// <summary>
    /// As <see cref="Update"/>, for a writer that already holds <see cref="Lock"/> on
    /// <paramref name="file"/> (opened with <see cref="OpenForWriting"/>): the layer appender, whose
    /// layer and the configuration that records its end must change under one lock.
    /// </summary>
    public static ImageConfig UpdateLocked(SafeFileHandle file, string imagePath, Func<ImageConfig, ImageConfig> change, bool replacesDamaged = false)
    {
        var layout = ImageLayout.Read(file);
        var (current, newest, newestSlot) = ReadSlots(file, imagePath, layout, replacesDamaged);
        var updated = change(current);
        if (updated.Equals(current) && newestSlot >= 0)
            return current;

        ConfigLimits.Check(updated);
        byte[] json = ConfigDocument.Serialize(updated);
        if (json.Length > ConfigSlot.MaxPayload)
            throw new ConfigTooLargeException();
        // A bare launcher gets its region now; the new bytes read as zeros, i.e. empty slots.
        if (!layout.HasConfigRegion)
            RandomAccess.SetLength(file, layout.ToolsOffset);

        int target = newestSlot == 0 ? 1 : 0;
        byte[] slot = ConfigSlot.Encode(newest + 1, json);
        long offset = layout.SlotOffset(target);
        if (Environment.GetEnvironmentVariable(StallVariable) is { Length: > 0 } marker)
            StallHalfway(file, slot, offset, marker);
        RandomAccess.Write(file, slot, offset);
        Fsync(file, imagePath);
        return updated;
    }

    /// <summary>The configuration, or the default one when both slots are damaged (for readers that only want a hint from it).</summary>
    public static ImageConfig ReadTolerant(SafeFileHandle file, string imagePath, ImageLayout layout)
        => Read(file, imagePath, layout, tolerateDamage: true);

    private static ImageConfig Read(SafeFileHandle file, string path, ImageLayout layout, bool tolerateDamage)
        => ReadSlots(file, path, layout, tolerateDamage).Config;

    private static (ImageConfig Config, ulong Sequence, int Slot) ReadSlots(SafeFileHandle file, string path, ImageLayout layout, bool tolerateDamage)
    {
        if (!layout.HasConfigRegion)
            return (ImageConfig.Default, 0, -1);

        ConfigSlot.Contents best = default;
        int bestSlot = -1;
        bool damaged = false;
        for (int i = 0; i < ImageLayout.SlotCount; i++)
        {
            var slot = ConfigSlot.Decode(ReadSlot(file, layout.SlotOffset(i)));
            damaged |= !slot.IsValid && !slot.IsEmpty;
            if (slot.IsValid && (bestSlot < 0 || slot.Sequence > best.Sequence))
                (best, bestSlot) = (slot, i);
        }

        if (bestSlot >= 0)
        {
            try
            {
                return (ConfigDocument.Deserialize(best.Json), best.Sequence, bestSlot);
            }
            catch (JsonException) when (tolerateDamage)
            {
                return (ImageConfig.Default, best.Sequence, bestSlot);
            }
            catch (JsonException e)
            {
                throw new InvalidImageException($"Invalid configuration in '{path}': {Describe(e)}");
            }
        }
        if (damaged && !tolerateDamage)
            throw new InvalidImageException($"Invalid configuration in '{path}': both configuration slots are damaged (use a 'set' or 'clear' command to write a fresh one)");
        return (ImageConfig.Default, 0, -1);
    }

    /// <summary>
    /// A JSON error as one printable line. System.Text.Json quotes the offending bytes of the
    /// document in its messages — newlines, terminal escape sequences, anything an image carries —
    /// so only the position is reported for those; our own messages are cleaned of control characters.
    /// </summary>
    internal static string Describe(JsonException e)
    {
        // The path names the document's own keys: cleaned as well.
        string message = e.BytePositionInLine is { } column
            ? $"malformed JSON at {e.Path ?? "$"} (line {e.LineNumber + 1}, byte {column + 1})"
            : e.Message;
        var text = new System.Text.StringBuilder(Math.Min(message.Length, 200));
        foreach (char c in message.AsSpan(0, Math.Min(message.Length, 200)))
            text.Append(char.IsControl(c) ? '?' : c);
        return text.ToString();
    }

    /// <summary>
    /// Reads a slot's header, then only as much JSON as it claims (bounded by the slot size): reading
    /// both whole slots would cost a megabyte of I/O on every command.
    /// </summary>
    private static byte[] ReadSlot(SafeFileHandle file, long offset)
    {
        Span<byte> header = stackalloc byte[ConfigSlot.HeaderSize];
        int read = RandomAccess.Read(file, header, offset);
        int length = ConfigSlot.ClaimedLength(header[..read]);
        var slot = new byte[ConfigSlot.HeaderSize + length];
        header[..read].CopyTo(slot);
        if (length > 0)
            read += RandomAccess.Read(file, slot.AsSpan(ConfigSlot.HeaderSize), offset + ConfigSlot.HeaderSize);
        return slot[..read];
    }

    /// <summary>
    /// Opens the image read-write. ETXTBSY means some process is executing the image file right now:
    /// read-only commands run in place for speed and live a few milliseconds, so wait for them.
    /// </summary>
    public static SafeFileHandle OpenForWriting(string imagePath)
    {
        const int ETXTBSY = 26;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return File.OpenHandle(imagePath, FileMode.Open, FileAccess.ReadWrite);
            }
            catch (IOException e) when (e.HResult == ETXTBSY && attempt < 500)
            {
                Thread.Sleep(10);
            }
        }
    }

    /// <summary>An exclusive flock(2) held until disposed; it serializes writers of the same image (also across copies opened by path).</summary>
    public static IDisposable Lock(SafeFileHandle file, string path)
    {
        FileLocks.Flock(file, SysFile.LOCK_EX, path);
        return new FileLock(file, path);
    }

    public static void Fsync(SafeFileHandle file, string path)
    {
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            if (Native.Interop.Unistd.fsync((int)file.DangerousGetHandle()) < 0)
                throw ErrnoException.FromLastError("fsync", path);
        }
        finally
        {
            file.DangerousRelease();
        }
    }

    private static void StallHalfway(SafeFileHandle file, byte[] slot, long offset, string marker)
    {
        RandomAccess.Write(file, slot.AsSpan(0, slot.Length / 2), offset);
        File.WriteAllText(marker, "stalled");
        Thread.Sleep(Timeout.Infinite);
    }

    private sealed class FileLock(SafeFileHandle file, string path) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
                return;
            // Closing the file would release the lock too; unlock explicitly so a caller that keeps
            // the handle open (writing after the locked section) does not hold writers off.
            FileLocks.Flock(file, SysFile.LOCK_UN, path);
        }
    }
}
