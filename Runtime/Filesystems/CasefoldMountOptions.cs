using FlatImage.Native.Fuse;

namespace FlatImage.Runtime.Filesystems;

/// <summary>What <see cref="CasefoldMount"/> serves (<paramref name="BackingDirectory"/>, the merged writable view) and where.</summary>
public sealed record CasefoldMountOptions(string BackingDirectory, string Mountpoint)
{
    /// <summary>Worker threads: the CPU count between 2 and 4, as for the layer mounts.</summary>
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount, 2, 4);

    /// <summary>
    /// Pages per READ and WRITE request: 256 pages = 1 MiB, so a large write(2) reaches the backing
    /// file in 1 MiB pwrites instead of 128 KiB ones (bench/casefold.sh measures it).
    /// </summary>
    public ushort MaxPages { get; init; } = 256;

    /// <summary>
    /// How long the kernel keeps a name binding and attributes. Short, as libfuse's default: other
    /// spellings of a name are never cached (see <see cref="CasefoldFileSystem"/>), and this bounds
    /// how long an exact-case binding outlives a change made through another spelling.
    /// </summary>
    public TimeSpan CacheTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The fsname shown in /proc/self/mountinfo (no commas).</summary>
    public string FsName { get; init; } = "flatimage-casefold";

    public TimeSpan InitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Receives one line per notable event of the filesystem (names that differ only in case).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Test hook, see <see cref="FuseSessionOptions.FaultInjector"/>.</summary>
    public Func<fuse_opcode, bool>? FaultInjector { get; init; }
}
