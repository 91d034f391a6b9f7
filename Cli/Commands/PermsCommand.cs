using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Config;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-perms add|del|set &lt;perm&gt;[,...] | list | clear</c> (docs/cli.md §3.4).</summary>
public static class PermsCommand
{
    private static readonly FlagSetCommand<Permissions> Command = new(
        ConfigNames.Permissions,
        new FlagSetMessages(
            MissingOp: "Missing op for fim-perms (add,del,list,set,clear)",
            InvalidOp: "Invalid perms operation",
            NoneOp: "Invalid operation for permissions",
            InvalidName: "Invalid permission",
            AllWithOthers: "Permission 'all' should not be used with others"),
        c => (ulong)c.Permissions,
        (c, bits) => c with { Permissions = (Permissions)bits });

    public static int Run(CommandContext context, ArgumentCursor args) => Command.Run(context, args);
}
