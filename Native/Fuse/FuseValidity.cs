namespace FlatImage.Native.Fuse;

/// <summary>A cache timeout as the kernel wants it: seconds and nanoseconds.</summary>
public readonly record struct FuseValidity(ulong Seconds, uint Nanoseconds)
{
    public static FuseValidity From(TimeSpan t)
    {
        if (t < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(t));
        long ticks = t.Ticks;
        return new((ulong)(ticks / TimeSpan.TicksPerSecond), (uint)(ticks % TimeSpan.TicksPerSecond * 100));
    }
}
