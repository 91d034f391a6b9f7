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
                if (args.Remaining != 2)
                    throw new CommandException("create requires exactly two arguments (/path/to/dir /path/to/file.layer)");
                return Create(context, args.Next()!, args.Next()!);
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
                args.End("fim-layer commit");
                return Commit(context, mode switch { "binary" => CommitMode.Binary, "layer" => CommitMode.Layer, _ => CommitMode.File }, destination);
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
    private static int Commit(CommandContext context, CommitMode mode, string? destination)
    {
        using var host = CommandActorHost.Start((system, registry) =>
            registry.TryRegister<LayerCommitActor>(system.ActorOf(LayerCommitActor.Props(), "commit")));
        var commit = host.Actor<LayerCommitActor>();
        CommitLayerResult result;
        using (var progress = new ProgressReporter(context.Error, "fim-layer commit"))
        {
            var request = new CommitLayer(context.ImagePath, mode, destination, LayerWriterOptions.FromEnvironment(), progress);
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

    private static int Create(CommandContext context, string source, string output)
    {
        if (!Path.Exists(source))
            throw new CommandException($"Source directory '{source}' does not exist", critical: false);
        if (!Directory.Exists(source))
            throw new CommandException($"Source '{source}' is not a directory", critical: false);
        context.Out.WriteLine($"Compress filesystem to '{output}'");
        context.Out.Flush();
        LayerWriteResult result;
        using (var progress = new ProgressReporter(context.Error, "fim-layer create"))
            result = LayerWriter.Create(source, output, LayerWriterOptions.FromEnvironment(), progress);
        foreach (string skipped in result.SkippedPaths)
            context.Warn("fim-layer", $"Skipped '{skipped}'");
        context.Out.WriteLine("Filesystem created without errors");
        return 0;
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
