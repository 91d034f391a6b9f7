namespace FlatImage.Native.Fuse;

/// <summary>The exception a <see cref="FuseSessionOptions.FaultInjector"/> makes a worker throw.</summary>
public sealed class FuseInjectedFaultException(fuse_opcode opcode)
    : Exception($"injected fault in {opcode}")
{
    public fuse_opcode Opcode { get; } = opcode;
}
