using System.Text;
using FlatImage.Cli.CommandLine;
using FlatImage.Runtime.Desktop;

namespace FlatImage.Cli.Commands;

/// <summary>
/// <c>fim-desktop setup &lt;json-file&gt; | enable &lt;item&gt;[,...] | clean | dump icon &lt;file&gt; | dump entry|mimetype</c>
/// (docs/cli.md §3.13, §11). Every argument and the whole setup input are checked before the image or
/// <c>$XDG_DATA_HOME</c> is touched.
/// </summary>
public static class DesktopCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-desktop' (enable,setup,clean,dump)");
        switch (op)
        {
            case "setup":
                string json = args.Next() ?? throw new CommandException("Missing argument for 'setup' (/path/to/file.json)");
                args.End();
                return Setup(context, json);
            case "enable":
                string list = args.Next() ?? throw new CommandException("Missing arguments for 'enable' (entry,mimetype,icon,none)");
                args.End();
                return Enable(context, ParseItems(list));
            case "clean":
                args.End();
                return Clean(context);
            case "dump":
                return Dump(context, args);
            default:
                throw new CommandException("Invalid desktop operation");
        }
    }

    private static int Setup(CommandContext context, string jsonPath)
    {
        var input = DesktopSetupFile.Read(jsonPath);
        var (type, icon) = DesktopIconDownload.IsUrl(input.IconSource)
            ? DesktopIconDownload.Load(input.IconSource)
            : DesktopIcon.Load(input.IconSource);
        var integration = new DesktopIntegration(input.Name, input.Categories, input.Items, type, [.. icon]);
        context.UpdateConfig(c => c with { Desktop = integration });
        context.Out.WriteLine(StoredJson(integration));
        return 0;
    }

    private static int Enable(CommandContext context, DesktopItems items)
    {
        var current = Stored(context);
        var updated = current with { Items = items };
        context.UpdateConfig(c => c with { Desktop = updated });
        if (items == DesktopItems.None)
            context.Out.WriteLine("NONE");
        foreach (string item in DesktopItemNames.Format(items))
            context.Out.WriteLine(item);
        if (items == DesktopItems.None)
            return 0;

        var files = Files(updated);
        if ((items & DesktopItems.Entry) != 0) context.Out.WriteLine("Integrating desktop entry");
        if ((items & DesktopItems.MimeType) != 0) context.Out.WriteLine("Integrating mime database");
        if ((items & DesktopItems.Icon) != 0) context.Out.WriteLine("Integrating desktop icons");
        context.Out.Flush();
        var changes = DesktopInstaller.Install(updated, files, Path.GetFullPath(context.ImagePath), force: true);
        UpdateCaches(files, changes);
        return 0;
    }

    private static int Clean(CommandContext context)
    {
        var files = Files(Stored(context));
        var changes = DesktopInstaller.Clean(files);
        foreach (string path in changes.Removed)
            context.Out.WriteLine($"Removed file '{path}'");
        UpdateCaches(files, changes);
        return 0;
    }

    private static int Dump(CommandContext context, ArgumentCursor args)
    {
        string target = args.NextKeyword() ?? throw new CommandException("Missing arguments for 'dump' (entry,mimetype,icon)");
        switch (target)
        {
            case "icon":
                string file = args.Next() ?? throw new CommandException("Missing argument for 'icon' /path/to/dump/file");
                args.End();
                return DumpIcon(context, file);
            case "entry":
                args.End();
                var stored = Stored(context);
                context.Out.WriteLine(new DesktopFiles("", stored.Name).EntryText(Path.GetFullPath(context.ImagePath), stored.Categories));
                return 0;
            case "mimetype":
                args.End();
                context.Out.WriteLine(new DesktopFiles("", Stored(context).Name).MimePackageText(Path.GetFileName(context.ImagePath)));
                return 0;
            case "none":
                throw new CommandException("Invalid desktop dump operation");
            default:
                throw new CommandException("Invalid dump operation");
        }
    }

    private static int DumpIcon(CommandContext context, string file)
    {
        var stored = Stored(context);
        if (stored.Icon.IsDefaultOrEmpty)
            throw new CommandException("Empty icon data", critical: false);
        // A JPEG is kept only to be resized: FlatImage dumps PNG and SVG only.
        string extension = stored.IconType switch
        {
            DesktopIconType.Png => ".png",
            DesktopIconType.Svg => ".svg",
            _ => throw new CommandException("Invalid file extension saved in desktop configuration", critical: false),
        };
        if (!file.EndsWith(extension, StringComparison.Ordinal))
            file += extension;
        try
        {
            File.WriteAllBytes(file, stored.Icon.AsSpan());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"Could not open output file '{file}'", critical: false);
        }
        return 0;
    }

    /// <summary>
    /// A comma list of items; <c>none</c> must stand alone and means no item. An empty element is an
    /// unknown item (docs/cli.md §1.1).
    /// </summary>
    private static DesktopItems ParseItems(string list)
    {
        string[] words = list.Split(',');
        var items = DesktopItems.None;
        foreach (string word in words)
        {
            if (string.Equals(word, "none", StringComparison.OrdinalIgnoreCase))
            {
                if (words.Length > 1)
                    throw new CommandException("'none' option should not be used with others");
                return DesktopItems.None;
            }
            items |= DesktopItemNames.Parse(word) ?? throw new CommandException("Invalid integration item");
        }
        return items;
    }

    private static DesktopIntegration Stored(CommandContext context) =>
        context.ReadConfig().Desktop
        ?? throw new CommandException("No desktop integration is set up (fim-desktop setup <json-file>)", critical: false);

    private static DesktopFiles Files(DesktopIntegration integration) =>
        new(DesktopFiles.ResolveDataHome() ?? throw new CommandException("Neither XDG_DATA_HOME nor HOME is set to an absolute path", critical: false),
            integration.Name);

    /// <summary>A configuration command may take its time: the caches are up to date when it returns.</summary>
    private static void UpdateCaches(DesktopFiles files, DesktopChanges changes) =>
        DesktopDatabases.Wait(DesktopDatabases.Start(files, changes), DateTime.UtcNow + TimeSpan.FromSeconds(60));

    /// <summary>The stored JSON as setup prints it: keys sorted, items upper case in their listing order, no icon.</summary>
    private static string StoredJson(DesktopIntegration integration) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("categories");
        foreach (string category in integration.Categories)
            w.WriteStringValue(category);
        w.WriteEndArray();
        w.WriteStartArray("integrations");
        foreach (string item in DesktopItemNames.Format(integration.Items))
            w.WriteStringValue(item);
        w.WriteEndArray();
        w.WriteString("name", integration.Name);
        w.WriteEndObject();
    });
}
