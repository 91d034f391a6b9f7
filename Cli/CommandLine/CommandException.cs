namespace FlatImage.Cli.CommandLine;

/// <summary>
/// A command failed with a message from the spec. The CLI prints it as one line,
/// <c>&lt;L&gt;::&lt;cmd&gt;::&lt;message&gt;</c>, and exits 125. Usage (parse) errors are critical (<c>C</c>).
/// </summary>
public sealed class CommandException(string message, bool critical = true) : Exception(message)
{
    public char Level => critical ? 'C' : 'E';
}
