using FlatImage.Cli.CommandLine;
using FlatImage.Runtime;
using FlatImage.Runtime.Tools;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-version short|full|deps</c> (docs/cli.md §3.16, §16a).</summary>
public static class VersionCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string mode = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-version' (<short|full|deps>)");
        switch (mode)
        {
            case "short":
                args.End();
                context.Out.WriteLine(BuildInfo.Version);
                return 0;
            case "full":
                args.End();
                string distribution = context.ReadConfig().Distribution;
                context.Out.WriteLine(JsonText.Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("COMMIT", BuildInfo.Commit);
                    w.WriteString("DISTRIBUTION", distribution);
                    w.WriteString("TIMESTAMP", BuildInfo.Timestamp);
                    w.WriteString("VERSION", BuildInfo.Version);
                    w.WriteEndObject();
                }));
                return 0;
            case "deps":
                args.End();
                // The .NET packages compiled into the launcher, and the tools its bundle carries.
                var deps = BundledDependencies.All
                    .Concat(ToolsManifest.Read(context.ImagePath).Select(t => (t.Name, t.Version, t.License, t.Source, t.Sha)))
                    .DistinctBy(d => d.Name, StringComparer.Ordinal)
                    .OrderBy(d => d.Name, StringComparer.Ordinal)
                    .ToList();
                context.Out.WriteLine(JsonText.Write(w =>
                {
                    w.WriteStartObject();
                    foreach (var dep in deps)
                    {
                        w.WriteStartObject(dep.Name);
                        w.WriteStartArray("licenses");
                        w.WriteStartObject();
                        w.WriteString("type", dep.License);
                        w.WriteString("url", $"https://spdx.org/licenses/{dep.License}.html");
                        w.WriteEndObject();
                        w.WriteEndArray();
                        w.WriteString("sha", dep.Sha.ToLowerInvariant());
                        w.WriteString("source", dep.Source);
                        w.WriteString("version", dep.Version);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                }));
                return 0;
            case "none":
                throw new CommandException("Invalid operation for fim-version");
            default:
                throw new CommandException("Invalid version operation");
        }
    }
}
