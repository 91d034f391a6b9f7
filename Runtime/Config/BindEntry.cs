namespace FlatImage.Runtime.Config;

/// <summary>A host path bound into the sandbox (docs/cli.md §3.7). Paths are stored unexpanded.</summary>
public sealed record BindEntry(BindType Type, string Source, string Destination);

public enum BindType : byte
{
    ReadOnly,
    ReadWrite,
    Device,
}
