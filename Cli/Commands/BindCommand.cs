using System.Globalization;
using System.Text.Json;
using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-bind add &lt;ro|rw|dev&gt; &lt;src&gt; &lt;dst&gt; | del &lt;index&gt; | list</c> (docs/cli.md §3.7).</summary>
public static class BindCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-bind' command (add,del,list)");
        switch (op)
        {
            case "add":
            {
                // The type is judged first, as FlatImage does: `add roo` is a bad type before it is a short line.
                var type = args.HasMore
                    ? ConfigNames.ParseBindType(args.Next()!) ?? throw new CommandException("Invalid bind type")
                    : throw new CommandException("Incorrect number of arguments for 'add' (<ro,rw,dev> <src> <dst>)");
                if (args.Remaining != 2)
                    throw new CommandException("Incorrect number of arguments for 'add' (<ro,rw,dev> <src> <dst>)");
                var entry = new BindEntry(type, args.Next()!, args.Next()!);
                if (SandboxMount.LeavesRoot(entry.Destination))
                    throw new CommandException($"Bind destination '{entry.Destination}' leaves the container's root");
                int index = 0;
                context.UpdateConfig(c =>
                {
                    index = c.Bindings.IsEmpty ? 0 : c.Bindings.Keys.Max() + 1;
                    return c with { Bindings = c.Bindings.Add(index, entry) };
                });
                context.Out.WriteLine($"Binding index is '{index}'");
                return 0;
            }
            case "del":
            {
                if (args.Remaining != 1)
                    throw new CommandException("Incorrect number of arguments for 'del' (<index>)");
                string text = args.Next()!;
                if (!text.All(char.IsAsciiDigit))
                    throw new CommandException("Index argument for 'del' is not a number");
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                    throw new CommandException("Invalid index");
                bool found = false;
                context.UpdateConfig(c =>
                {
                    found = c.Bindings.ContainsKey(index);
                    // Renumber 0..n-1 in index order so indexes stay dense.
                    var renumbered = c.Bindings.Remove(index).Values.Select((b, i) => KeyValuePair.Create(i, b));
                    return c with { Bindings = c.Bindings.Clear().AddRange(renumbered) };
                });
                context.Out.WriteLine(found ? $"Erase element with index '{index}'" : $"No element with index '{index}' found");
                return 0;
            }
            case "list":
                if (args.HasMore)
                    throw new CommandException("'list' command takes no arguments");
                WriteList(context.Out, context.ReadConfig());
                return 0;
            case "none":
                throw new CommandException("Invalid operation for bind");
            default:
                throw new CommandException("Invalid bind operation");
        }
    }

    /// <summary>The stored object, two-space indented, keys sorted as strings ("10" before "2"); nothing when empty.</summary>
    private static void WriteList(TextWriter output, ImageConfig config)
    {
        if (config.Bindings.IsEmpty)
            return;
        output.WriteLine(JsonText.Write(writer =>
        {
            writer.WriteStartObject();
            foreach (var (index, bind) in config.Bindings.OrderBy(b => b.Key.ToString(CultureInfo.InvariantCulture), StringComparer.Ordinal))
            {
                writer.WriteStartObject(index.ToString(CultureInfo.InvariantCulture));
                writer.WriteString("dst", bind.Destination);
                writer.WriteString("src", bind.Source);
                writer.WriteString("type", ConfigNames.Format(bind.Type));
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }));
    }
}
