namespace FlatImage.Runtime.Config;

/// <summary>Namespaces the sandbox unshares on top of its defaults (docs/cli.md §5).</summary>
[Flags]
public enum UnshareOptions : ushort
{
    None = 0,
    User = 1 << 0,
    Ipc = 1 << 1,
    Pid = 1 << 2,
    Net = 1 << 3,
    Uts = 1 << 4,
    Cgroup = 1 << 5,
    All = (1 << 6) - 1,
}
