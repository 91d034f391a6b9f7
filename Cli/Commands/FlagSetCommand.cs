using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Config;

namespace FlatImage.Cli.Commands;

/// <summary>
/// fim-perms and fim-unshare: the same grammar (<c>add|del|set &lt;name&gt;[,...]</c>, <c>list</c>,
/// <c>clear</c>) over a set of flags, differing only in names, messages and where the set is stored.
/// </summary>
public sealed class FlagSetCommand<T>(
    FlagNames<T> names,
    FlagSetMessages messages,
    Func<ImageConfig, ulong> get,
    Func<ImageConfig, ulong, ImageConfig> set) where T : struct, Enum
{
    public int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException(messages.MissingOp);
        switch (op)
        {
            case "add":
            case "del":
            case "set":
                string list = args.Next() ?? throw new CommandException($"No arguments for '{op.ToUpperInvariant()}' command");
                args.End();
                ulong bits = Parse(list);
                if (op == "add")
                    context.UpdateConfig(c => set(c, get(c) | bits));
                else if (op == "del")
                    context.UpdateConfig(c => set(c, get(c) & ~bits));
                else
                    context.ReplaceConfig(c => set(c, bits));
                return 0;
            case "list":
                args.End();
                foreach (var name in names.Format(get(context.ReadConfig())))
                    context.Out.WriteLine(name);
                return 0;
            case "clear":
                args.End();
                context.ReplaceConfig(c => set(c, 0));
                return 0;
            case "none":
                throw new CommandException(messages.NoneOp);
            default:
                throw new CommandException(messages.InvalidOp);
        }
    }

    /// <summary>Comma list to bits: <c>all</c> stands for every name and must be alone; <c>none</c> and empty elements are rejected.</summary>
    private ulong Parse(string list)
    {
        string[] items = list.Split(',');
        ulong bits = 0;
        foreach (string raw in items)
        {
            string item = raw.ToLowerInvariant();
            if (item == "all")
            {
                if (items.Length > 1)
                    throw new CommandException(messages.AllWithOthers);
                return names.Names.Aggregate(0UL, (acc, n) => names.TryParse(n, out var b) ? acc | b : acc);
            }
            if (item == "none")
                throw new CommandException($"{messages.InvalidName} 'NONE'");
            if (!names.TryParse(item, out var bit))
                throw new CommandException(messages.InvalidName);
            bits |= bit;
        }
        return bits;
    }
}

/// <summary>The spec's messages for one flag-set command (docs/cli.md §3.4, §3.5).</summary>
public sealed record FlagSetMessages(string MissingOp, string InvalidOp, string NoneOp, string InvalidName, string AllWithOthers);
