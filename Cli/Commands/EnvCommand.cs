using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Config;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-env add|set 'K=V'... | del K... | list | clear</c> (docs/cli.md §3.6). Values are stored unexpanded.</summary>
public static class EnvCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-env' (add,del,list,set,clear)");
        switch (op)
        {
            case "add":
            case "set":
            {
                var pairs = ParseAssignments(RequireArguments(args, op));
                if (op == "add")
                    context.UpdateConfig(c => c with { Environment = c.Environment.SetItems(pairs) });
                else
                    context.ReplaceConfig(c => c with { Environment = c.Environment.Clear().SetItems(pairs) });
                foreach (var (key, value) in pairs)
                    context.Out.WriteLine($"Included variable '{key}' with value '{value}'");
                return 0;
            }
            case "del":
            {
                string[] keys = RequireArguments(args, op);
                ImageConfig previous = ImageConfig.Default;
                context.UpdateConfig(c => (previous = c) with { Environment = c.Environment.RemoveRange(keys) });
                foreach (string key in keys)
                    context.Out.WriteLine(previous.Environment.ContainsKey(key) ? $"Erase key '{key}'" : $"Key '{key}' not found for deletion");
                return 0;
            }
            case "list":
                args.End();
                foreach (var (key, value) in context.ReadConfig().Environment)
                    context.Out.WriteLine(VariableExpander.Expand($"{key}={value}"));
                return 0;
            case "clear":
                args.End();
                context.ReplaceConfig(c => c with { Environment = c.Environment.Clear() });
                return 0;
            case "none":
                throw new CommandException("Invalid operation for environment");
            default:
                throw new CommandException("Invalid env operation");
        }
    }

    private static string[] RequireArguments(ArgumentCursor args, string op)
    {
        var rest = args.Rest();
        return rest.Length > 0 ? rest : throw new CommandException($"Missing arguments for '{op.ToUpperInvariant()}'");
    }

    /// <summary>Key = text before the first '=', value = the rest (may be empty or hold '='). All are checked before anything is stored.</summary>
    private static List<KeyValuePair<string, string>> ParseAssignments(string[] assignments)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (string assignment in assignments)
        {
            int eq = assignment.IndexOf('=');
            if (eq < 0)
                throw new CommandException($"Variable assignment '{assignment}' is invalid");
            pairs.Add(new(assignment[..eq], assignment[(eq + 1)..]));
        }
        return pairs;
    }
}
