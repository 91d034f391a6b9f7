namespace FlatImage.Cli.CommandLine;

/// <summary>
/// The arguments after the command word, consumed left to right, with the rules every fim-*
/// command shares (docs/cli.md §1.1): keywords are case-insensitive, surplus arguments are rejected
/// with <c>Trailing arguments for fim-&lt;cmd&gt;: ['a','b',]</c>.
/// </summary>
public sealed class ArgumentCursor(string command, string[] args, int start)
{
    private int _next = start;

    public string Command => command;
    public int Remaining => args.Length - _next;
    public bool HasMore => _next < args.Length;

    /// <summary>The next argument lower-cased, or null when there is none.</summary>
    public string? NextKeyword() => HasMore ? args[_next++].ToLowerInvariant() : null;

    /// <summary>The next argument verbatim, or null.</summary>
    public string? Next() => HasMore ? args[_next++] : null;

    /// <summary>All the remaining arguments verbatim.</summary>
    public string[] Rest()
    {
        var rest = args[_next..];
        _next = args.Length;
        return rest;
    }

    /// <summary>Fails with the shared trailing-arguments message if anything is left.</summary>
    public void End() => End(command);

    /// <summary>As <see cref="End()"/>, naming a sub-command (<c>fim-layer commit</c>).</summary>
    public void End(string name)
    {
        if (HasMore)
            throw new CommandException($"Trailing arguments for {name}: [{string.Concat(Rest().Select(a => $"'{a}',"))}]");
    }
}
