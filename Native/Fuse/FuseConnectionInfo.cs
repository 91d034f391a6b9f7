namespace FlatImage.Native.Fuse;

/// <summary>What FUSE_INIT settled on between the kernel and us.</summary>
public sealed record FuseConnectionInfo(
    uint KernelMajor,
    uint KernelMinor,
    uint ProtocolMinor,
    ulong KernelFlags,
    ulong Flags,
    uint KernelMaxReadahead,
    uint MaxReadahead,
    uint MaxWrite,
    uint MaxRead,
    ushort MaxPages,
    ushort MaxBackground)
{
    public bool Has(ulong flag) => (Flags & flag) != 0;
}
