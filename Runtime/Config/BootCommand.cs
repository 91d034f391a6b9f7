using System.Collections.Immutable;

namespace FlatImage.Runtime.Config;

/// <summary>The default program (docs/cli.md §3.3); an empty program means <c>bash</c>.</summary>
public sealed record BootCommand(string Program, ImmutableArray<string> Args)
{
    public static readonly BootCommand Default = new(string.Empty, ImmutableArray<string>.Empty);
}
