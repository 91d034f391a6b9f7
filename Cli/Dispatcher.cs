using FlatImage.Cli.CommandLine;
using FlatImage.Cli.Commands;
using FlatImage.Cli.Help;

namespace FlatImage.Cli;

/// <summary>
/// argv[1] to a command (docs/cli.md §1.1): a word starting with <c>fim-</c> must be one of the known
/// commands; anything else, or nothing, is the default boot with every argument passed on.
/// </summary>
public static class Dispatcher
{
    private static readonly string[] Known =
    [
        "fim-bind", "fim-boot", "fim-casefold", "fim-desktop", "fim-env", "fim-exec", "fim-help", "fim-instance",
        "fim-layer", "fim-notify", "fim-overlay", "fim-perms", "fim-recipe", "fim-remote", "fim-root", "fim-unshare", "fim-version",
    ];

    /// <summary>The command word <c>args[0]</c> names, or <c>fim</c> for the default boot; it prefixes error lines.</summary>
    public static string CommandWord(string[] args) =>
        args.Length > 0 && args[0].StartsWith("fim-", StringComparison.Ordinal) ? args[0] : "fim";

    /// <summary>
    /// Commands that only read the image run in place, saving the relocation exec; they live a few
    /// milliseconds, and a writer that meets their ETXTBSY waits them out (ConfigStore.OpenForWriting).
    /// Everything else relocates first, so the image file stays writable while it runs.
    /// </summary>
    public static bool IsReadOnly(string[] args) => CommandWord(args) switch
    {
        "fim-help" or "fim-version" => true,
        "fim" => false,
        _ => args.Length > 1 && args[1].ToLowerInvariant() is "list" or "show",
    };

    public static int Run(CommandContext context, string[] args)
    {
        string command = CommandWord(args);
        if (command != "fim" && !Known.Contains(command))
            throw new CommandException($"Unknown command: {command}");
        var cursor = new ArgumentCursor(command, args, 1);
        return command switch
        {
            "fim-perms" => PermsCommand.Run(context, cursor),
            "fim-unshare" => UnshareCommand.Run(context, cursor),
            "fim-env" => EnvCommand.Run(context, cursor),
            "fim-bind" => BindCommand.Run(context, cursor),
            "fim-boot" => BootCommand.Run(context, cursor),
            "fim-overlay" => OverlayCommand.Run(context, cursor),
            "fim-casefold" => SwitchCommand.Casefold(context, cursor),
            "fim-notify" => SwitchCommand.Notify(context, cursor),
            "fim-desktop" => DesktopCommand.Run(context, cursor),
            "fim-remote" => RemoteCommand.Run(context, cursor),
            "fim-recipe" => RecipeCommand.Run(context, cursor),
            "fim-version" => VersionCommand.Run(context, cursor),
            "fim-help" => Help(context, cursor),
            "fim-layer" => LayerCommand.Run(context, cursor),
            "fim-instance" => InstanceCommand.Run(context, cursor),
            "fim-exec" => RunCommand.Exec(context, cursor, asRoot: false),
            "fim-root" => RunCommand.Exec(context, cursor, asRoot: true),
            "fim" => RunCommand.Boot(context, args),
            _ => throw new CommandException($"{command} is not available in this build yet", critical: false),
        };
    }

    /// <summary>No topic: the general page on stderr plus an empty line; a topic: its page on stdout. Both exit 0.</summary>
    private static int Help(CommandContext context, ArgumentCursor args)
    {
        string? topic = args.NextKeyword();
        if (topic is null)
        {
            context.Error.Write(HelpPages.General().ToString());
            context.Error.WriteLine();
            return 0;
        }
        var page = HelpPages.ForTopic(topic) ?? throw new CommandException($"Invalid argument for help command: {topic}");
        context.Out.Write(page.ToString());
        return 0;
    }
}
