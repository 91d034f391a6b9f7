using FlatImage.Native.Fuse;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// What <see cref="LayerMount"/> serves and where: the layers (each a byte range in a file: a layer
/// file, or an image with embedded layers), bottom first, the mount point and the serving knobs.
/// A stack is served merged (<see cref="MergedFileSystem"/>); <see cref="Single"/> serves one layer
/// as it is stored (<see cref="LayerFileSystem"/>, whiteouts shown).
/// </summary>
public sealed record LayerMountOptions(IReadOnlyList<LayerLocation> Layers, string Mountpoint)
{
    /// <summary>One layer, unmerged: the bytes [<paramref name="offset"/>, + <paramref name="length"/>) of <paramref name="layerPath"/> (a negative length: to the end of the file).</summary>
    public static LayerMountOptions Single(string layerPath, long offset, long length, string mountpoint)
        => new([new LayerLocation(layerPath, offset, length)], mountpoint) { Merged = false };

    /// <summary>Whether the layers are served as one merged tree (always, for more than one layer).</summary>
    public bool Merged { get; init; } = true;

    /// <summary>
    /// FUSE worker threads: the CPU count between 2 and 4. Two keep a cold read and a metadata walk
    /// from waiting on each other; beyond four, workers only contend for the block cache and CPUs
    /// the application needs (measured in bench/layers-read.sh).
    /// </summary>
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount, 2, 4);

    /// <summary>Pages per READ request (1 MiB), see <see cref="FuseSessionOptions.MaxPages"/>.</summary>
    public ushort MaxPages { get; init; } = 256;

    /// <summary>
    /// The mount's readahead window in KiB, set after INIT (root only: the bdi attribute is root's).
    /// Sequential reads then arrive as max_read-sized requests instead of 128 KiB ones.
    /// </summary>
    public uint ReadAheadKilobytes { get; init; } = 1024;

    /// <summary>The decompressed-block cache and other reader tuning.</summary>
    public LayerReaderOptions Reader { get; init; } = new();

    /// <summary>
    /// Readers of these layers that are open already (a run's planning opened the ones it read
    /// from): the mount takes them over instead of opening those layers again. Used only when the
    /// set serves exactly <see cref="Layers"/> with <see cref="Reader"/>.
    /// </summary>
    public LayerReaderSet? OpenedReaders { get; init; }

    /// <summary>
    /// How owners are presented. Null = decide at mount time: real owners as root, the caller's
    /// uid/gid otherwise (<see cref="LayerFileSystemOptions.PresentOwner"/>).
    /// </summary>
    public LayerFileSystemOptions? FileSystem { get; init; }

    /// <summary>
    /// Check a file's blocks when it is opened: for the mount a FUSE overlay daemon reads from, so
    /// that a damaged block reaches the program as EIO (<see cref="LayerFileSystemOptions.VerifyOnOpen"/>).
    /// </summary>
    public bool VerifyOnOpen { get; init; }

    /// <summary>The fsname shown in /proc/self/mountinfo (no commas).</summary>
    public string FsName { get; init; } = "flatimage";

    /// <summary>How long to wait for the kernel's FUSE_INIT after mounting.</summary>
    public TimeSpan InitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Record a start profile (FIM_PROFILE=1, merged mounts only): the files the run reads, written
    /// to this path when the mount is stopped (<see cref="StartProfileRecorder"/>). Null: no recording.
    /// </summary>
    public string? StartProfilePath { get; init; }

    /// <summary>Test hook, see <see cref="FuseSessionOptions.FaultInjector"/>.</summary>
    public Func<fuse_opcode, bool>? FaultInjector { get; init; }
}
