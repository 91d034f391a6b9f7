namespace FlatImage.Cli.CommandLine;

/// <summary>
/// A command failed with a message from the spec. The CLI prints it as one line,
/// <c>&lt;L&gt;::&lt;cmd&gt;::&lt;message&gt;</c>, and exits with <see cref="Status"/> (125 unless a run says
/// otherwise: 126 not executable, 127 not found). Usage (parse) errors are critical (<c>C</c>).
/// </summary>
public sealed class CommandException(string message, bool critical = true, int status = 125) : Exception(message)
{
    public char Level => critical ? 'C' : 'E';
    public int Status => status;
}
