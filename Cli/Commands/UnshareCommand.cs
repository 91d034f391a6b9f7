using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Config;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-unshare add|del|set &lt;opt&gt;[,...] | list | clear</c> (docs/cli.md §3.5).</summary>
public static class UnshareCommand
{
    private static readonly FlagSetCommand<UnshareOptions> Command = new(
        ConfigNames.Unshare,
        new FlagSetMessages(
            MissingOp: "Missing op for fim-unshare (add,clear,del,list,set)",
            InvalidOp: "Invalid unshare operation",
            NoneOp: "Invalid operation for unshare",
            InvalidName: "Invalid unshare option",
            AllWithOthers: "Unshare option 'all' should not be used with others"),
        c => (ulong)c.Unshare,
        (c, bits) => c with { Unshare = (UnshareOptions)bits });

    public static int Run(CommandContext context, ArgumentCursor args) => Command.Run(context, args);
}
