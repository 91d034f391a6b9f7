using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Commit;
using FlatImage.Cli.CommandLine;
using FlatImage.Cli.Hosting;
using FlatImage.Cli.Output;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Commit;
using FlatImage.Runtime.Layers;

namespace FlatImage.Cli.Commands;

/// <summary><c>fim-layer create|add|commit|list</c> (docs/cli.md §3.11, §13), and <c>mount</c> (ours, <see cref="LayerMountCommand"/>).</summary>
public static class LayerCommand
{
    public static int Run(CommandContext context, ArgumentCursor args)
    {
        string op = args.NextKeyword() ?? throw new CommandException("Missing op for 'fim-layer' (create,add,commit,list)");
        switch (op)
        {
            case "create":
            {
                var (positional, profile) = TakeProfileOption(args.Rest());
                if (positional.Count != 2)
                    throw new CommandException("create requires exactly two arguments (/path/to/dir /path/to/file.layer)");
                return Create(context, positional[0], positional[1], profile as ProfileChoice.File);
            }
            case "add":
                if (args.Remaining != 1)
                    throw new CommandException("add requires exactly one argument (/path/to/file.layer)");
                return Add(context, args.Next()!);
            case "commit":
                string mode = args.NextKeyword() ?? throw new CommandException("Missing op for 'commit' (binary,layer,file)");
                if (mode is not ("binary" or "layer" or "file"))
                    throw new CommandException("Invalid commit operation");
                string? destination = null;
                if (mode == "file" && (destination = args.Next()) is null)
                    throw new CommandException("Missing path for 'file' operation");
                var (trailing, choice) = TakeProfileOption(args.Rest());
                new ArgumentCursor(args.Command, [.. trailing], 0).End("fim-layer commit");
                return Commit(context, mode switch { "binary" => CommitMode.Binary, "layer" => CommitMode.Layer, _ => CommitMode.File }, destination, choice);
            case "mount":
                return LayerMountCommand.Run(context, args);
            case "list":
                args.End("fim-layer list");
                var stack = LayerStack.Resolve(context.ImagePath, warning => context.Warn(args.Command, warning));
                // A list that a run could not mount would mislead: a damaged layer is the one line instead.
                LayerStack.Verify(stack);
                for (int i = 0; i < stack.Count; i++)
                    context.Out.WriteLine($"{i}:{stack[i].Offset}:{stack[i].Size}:{stack[i].Path}");
                return 0;
            default:
                throw new CommandException("Invalid layer operation");
        }
    }

    /// <summary>
    /// Starts the actor system, asks <see cref="LayerCommitActor"/> to commit, and prints the
    /// confirmation lines (docs/cli.md §1.4): the placement line as soon as the layer is durable, the
    /// erase line only when the writable layer was emptied too.
    /// </summary>
    private static int Commit(CommandContext context, CommitMode mode, string? destination, ProfileChoice? profile)
    {
        // Without an option the commit takes the data directory's profile itself (LayerCommit.Run).
        var options = LayerWriterOptions.FromEnvironment();
        if (profile is ProfileChoice.File file)
            options = options with { StartProfile = LoadProfile(file.Path) };
        else if (profile is ProfileChoice.None)
            options = options with { StartProfile = StartProfile.Empty };
        using var host = CommandActorHost.Start((system, registry) =>
            registry.TryRegister<LayerCommitActor>(system.ActorOf(LayerCommitActor.Props(), "commit")));
        var commit = host.Actor<LayerCommitActor>();
        CommitLayerResult result;
        using (var progress = new ProgressReporter(context.Error, "fim-layer commit"))
        {
            var request = new CommitLayer(context.ImagePath, mode, destination, options, progress);
            result = commit.Ask<CommitLayerResult>(request, Timeout.InfiniteTimeSpan).GetAwaiter().GetResult();
        }
        if (result.Placed)
        {
            context.Out.WriteLine(mode == CommitMode.Binary ? "Filesystem appended to binary without errors" : $"Layer saved to '{result.SavedTo}'");
            context.Out.Flush();
        }
        if (result.Error is not null)
            throw new CommandException(result.Error, critical: false);
        foreach (string warning in result.Warnings ?? [])
            context.Warn("fim-layer", warning);
        context.Out.WriteLine("Finished erasing files");
        return 0;
    }

    private static int Create(CommandContext context, string source, string output, ProfileChoice.File? profileFile)
    {
        if (!Path.Exists(source))
            throw new CommandException($"Source directory '{source}' does not exist", critical: false);
        if (!Directory.Exists(source))
            throw new CommandException($"Source '{source}' is not a directory", critical: false);
        var options = LayerWriterOptions.FromEnvironment();
        if (profileFile is not null)
            options = options with { StartProfile = LoadProfile(profileFile.Path) };
        context.Out.WriteLine($"Compress filesystem to '{output}'");
        context.Out.Flush();
        LayerWriteResult result;
        using (var progress = new ProgressReporter(context.Error, "fim-layer create"))
            result = LayerWriter.Create(source, output, options, progress);
        foreach (string skipped in result.SkippedPaths)
            context.Warn("fim-layer", $"Skipped '{skipped}'");
        if (profileFile is not null && result.ProfileBytes == 0)
            context.Warn("fim-layer", $"No file of the start profile '{profileFile.Path}' is in '{source}'");
        context.Out.WriteLine("Filesystem created without errors");
        return 0;
    }

    /// <summary>How a create or commit was told to use a start profile (docs/cli.md §13.3, §13.6).</summary>
    private abstract record ProfileChoice
    {
        /// <summary><c>--profile &lt;file&gt;</c>.</summary>
        public sealed record File(string Path) : ProfileChoice;

        /// <summary><c>--no-profile</c>: none, not even the data directory's.</summary>
        public sealed record None : ProfileChoice;
    }

    /// <summary>
    /// Takes <c>--profile &lt;file&gt;</c> or <c>--no-profile</c> out of <paramref name="args"/>, wherever
    /// they stand; the rest keeps its order. A <c>--profile</c> with no file after it is a usage error.
    /// </summary>
    private static (List<string> Others, ProfileChoice? Choice) TakeProfileOption(string[] args)
    {
        var rest = new List<string>();
        ProfileChoice? choice = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--profile")
            {
                if (i + 1 >= args.Length)
                    throw new CommandException("--profile requires a path (/path/to/start-profile)");
                choice = new ProfileChoice.File(args[++i]);
            }
            else if (args[i] == "--no-profile")
                choice = new ProfileChoice.None();
            else
                rest.Add(args[i]);
        }
        return (rest, choice);
    }

    /// <summary>A start profile file named on the command line; one error line when it cannot be read.</summary>
    private static StartProfile LoadProfile(string path)
    {
        try
        {
            return StartProfile.Load(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"Failed to read start profile '{path}'", critical: false);
        }
    }

    private static int Add(CommandContext context, string input)
    {
        try
        {
            using (File.OpenHandle(input, FileMode.Open, FileAccess.Read)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"Failed to open input file '{input}'", critical: false);
        }
        try
        {
            LayerAppender.Append(context.ImagePath, input);
        }
        catch (InvalidLayerException e)
        {
            throw new CommandException($"Not a valid layer file '{input}': {e.Reason}", critical: false);
        }
        context.Out.WriteLine($"Included novel layer from file '{input}'");
        return 0;
    }
}
