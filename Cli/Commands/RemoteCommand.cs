using FlatImage.Cli.CommandLine;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-remote set &lt;url&gt; | show | clear</c> (docs/cli.md §3.14).</summary>
public static class RemoteCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-remote' (<set|show|clear>)");
        switch (op)
        {
            case "set":
                string url = args.Next() ?? throw new CommandException("Missing URL for 'set' operation");
                args.End();
                context.ReplaceConfig(c => c with { RemoteUrl = url });
                context.Out.WriteLine($"Set remote URL to '{url}'");
                return 0;
            case "show":
                args.End();
                string shown = context.ReadConfig().RemoteUrl ?? throw new CommandException("No remote URL configured", critical: false);
                context.Out.WriteLine(shown);
                return 0;
            case "clear":
                args.End();
                context.ReplaceConfig(c => c with { RemoteUrl = null });
                context.Out.WriteLine("Cleared remote URL");
                return 0;
            default:
                throw new CommandException("Invalid remote operation");
        }
    }
}
