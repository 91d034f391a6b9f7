using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Config;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-casefold on|off</c> and <c>fim-notify on|off</c> (docs/cli.md §3.9, §3.10): one stored flag each.</summary>
public static class SwitchCommand
{
    public static int Casefold(CommandContext context, ArgumentCursor args)
    {
        const string usage = "Incorrect number of arguments for 'fim-casefold' (<on|off>)";
        string value = args.NextKeyword() ?? throw new CommandException(usage);
        bool on = Parse(value, "Invalid casefold switch");
        args.End();
        context.UpdateConfig(c => c with { Casefold = on });
        return 0;
    }

    public static int Notify(CommandContext context, ArgumentCursor args)
    {
        const string usage = "Incorrect number of arguments for 'fim-notify' (<on|off>)";
        if (args.Remaining != 1)
            throw new CommandException(usage);
        bool on = Parse(args.NextKeyword()!, "Invalid notify switch");
        context.UpdateConfig(c => c with { Notify = on });
        return 0;
    }

    private static bool Parse(string value, string invalid) => value switch
    {
        "on" => true,
        "off" => false,
        _ => throw new CommandException(invalid),
    };
}
