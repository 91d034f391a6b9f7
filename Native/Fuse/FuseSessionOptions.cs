namespace FlatImage.Native.Fuse;

/// <summary>How a <see cref="FuseSession"/> serves its connection.</summary>
public sealed record FuseSessionOptions
{
    /// <summary>Name used for worker threads and diagnostics.</summary>
    public string Name { get; init; } = "fuse";

    /// <summary>
    /// Worker threads. Worker 0 reads the mount's own fd; each other worker reads its own clone
    /// (FUSE_DEV_IOC_CLONE) so reads do not contend. Default: the CPU count, between 2 and 8.
    /// </summary>
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount, 2, 8);

    /// <summary>
    /// FUSE_MAX_PAGES: pages per READ request. 256 pages = 1 MiB reads (the kernel's cap is
    /// fuse_max_pages_limit, 256 by default), instead of the 32-page (128 KiB) default.
    /// </summary>
    public ushort MaxPages { get; init; } = 256;

    /// <summary>Readahead we accept, in bytes; the kernel's offer is the upper bound.</summary>
    public uint MaxReadahead { get; init; } = 1024 * 1024;

    /// <summary>
    /// max_write. Nothing writes to a read-only filesystem, but the kernel refuses a read buffer
    /// smaller than a WRITE request could be (fuse_dev_do_read: header + fuse_write_in + max_write),
    /// so this sizes every worker's input buffer. 4096 is the kernel's minimum.
    /// </summary>
    public uint MaxWrite { get; init; } = 128 * 1024;

    /// <summary>
    /// Background requests (readahead, async reads) the kernel keeps in flight. The kernel default
    /// of 12 starves parallel readahead of several files; congestion starts at 3/4 of it.
    /// </summary>
    public ushort MaxBackground { get; init; } = 64;

    /// <summary>How long the kernel caches a name → node binding. Long: layer data never changes.</summary>
    public TimeSpan EntryTimeout { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long the kernel caches attributes. Long: layer data never changes.</summary>
    public TimeSpan AttrTimeout { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long the kernel caches a missing name (<see cref="FuseReply.NegativeEntry"/>).</summary>
    public TimeSpan NegativeTimeout { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long Dispose waits for the workers to see the end of the connection.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Test hook: called before each handler; returning true makes the worker throw in its place,
    /// to exercise the fault path. <see cref="FuseFaultInjection.FromEnvironment"/> builds one from
    /// FIM_TEST_FUSE_FAULT. Null in production.
    /// </summary>
    public Func<fuse_opcode, bool>? FaultInjector { get; init; }
}
