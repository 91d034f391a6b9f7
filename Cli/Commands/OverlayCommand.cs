using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Config;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-overlay set &lt;bwrap|overlayfs|unionfs&gt; | show</c> (docs/cli.md §3.8).</summary>
public static class OverlayCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-overlay' (<set|show>)");
        switch (op)
        {
            case "set":
                string value = args.NextKeyword() ?? throw new CommandException("Missing argument for 'set'");
                if (value == "none")
                    throw new CommandException("Invalid overlay option");
                var kind = ConfigNames.ParseOverlay(value) ?? throw new CommandException("Invalid overlay type");
                args.End();
                context.UpdateConfig(c => c with { Overlay = kind });
                return 0;
            case "show":
                args.End();
                var config = context.ReadConfig();
                var effective = EffectiveSettings.Overlay(config, out bool fellBack);
                if (fellBack)
                    context.Warn(args.Command, "casefold cannot be used with bwrap overlayfs, falling back to unionfs");
                context.Out.WriteLine(ConfigNames.Format(effective).ToUpperInvariant());
                return 0;
            case "none":
                throw new CommandException("Invalid operation for fim-overlay");
            default:
                throw new CommandException("Invalid overlay operation");
        }
    }
}
