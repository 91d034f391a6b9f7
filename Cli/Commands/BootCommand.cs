using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Config;
using Boot = FlatImage.Runtime.Config.BootCommand;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-boot set &lt;program&gt; [args...] | show | clear</c> (docs/cli.md §3.3).</summary>
public static class BootCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-boot' (<set|show|clear>)");
        switch (op)
        {
            case "set":
                string program = args.Next() ?? throw new CommandException("Missing program for 'set' operation");
                var boot = new Boot(program, [.. args.Rest()]);
                context.ReplaceConfig(c => c with { Boot = boot });
                return 0;
            case "show":
                args.End();
                var stored = context.ReadConfig().Boot;
                context.Out.WriteLine(JsonText.Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteStartArray("args");
                    foreach (string arg in stored.Args)
                        w.WriteStringValue(arg);
                    w.WriteEndArray();
                    w.WriteString("program", stored.Program.Length == 0 ? "bash" : stored.Program);
                    w.WriteEndObject();
                }));
                return 0;
            case "clear":
                args.End();
                context.ReplaceConfig(c => c with { Boot = Boot.Default });
                return 0;
            default:
                throw new CommandException("Invalid boot operation");
        }
    }
}
