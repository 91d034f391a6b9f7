using System.Text;

namespace FlatImage.Cli.Help;

/// <summary>One command's help text in the shape of docs/cli.md §15: header, then Usage/argument/Note/Example lines in order.</summary>
public sealed class HelpPage(string command, string description)
{
    private readonly StringBuilder _text = new StringBuilder()
        .Append("Flatimage - Portable Linux Applications\n")
        .Append(command).Append(" : ").Append(description).Append('\n');

    public HelpPage Usage(string usage) => Line($"Usage: {usage}");
    public HelpPage Arg(string name, string explanation) => Line($"  <{name}> : {explanation}");
    public HelpPage Note(string note) => Line($"Note: {note}");
    public HelpPage Example(string example) => Line($"Example: {example}");

    public override string ToString() => _text.ToString();

    private HelpPage Line(string line)
    {
        _text.Append(line).Append('\n');
        return this;
    }
}
