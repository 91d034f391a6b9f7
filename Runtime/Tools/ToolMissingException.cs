namespace FlatImage.Runtime.Tools;

/// <summary>A helper program a run needs is neither bundled nor on PATH (docs/cli.md: <c>Could not find 'fusermount3'</c>).</summary>
public sealed class ToolMissingException(string tool) : Exception($"Could not find '{tool}'")
{
    public string Tool => tool;
}
