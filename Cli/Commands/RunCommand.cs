using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Instance;
using FlatImage.Actors.Mounts;
using FlatImage.Cli.CommandLine;
using FlatImage.Cli.Hosting;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Instances;
using Serilog;

namespace FlatImage.Cli.Commands;

/// <summary>
/// The container commands: <c>fim-exec</c>, <c>fim-root</c> and the default boot (docs/cli.md §3.1, §3.2).
/// Plans the run, starts the actor system and asks the instance actor to carry it out; the
/// program's exit status becomes the launcher's. Nothing of the launcher's own is printed on success.
/// </summary>
public static class RunCommand
{
    public static int Exec(CommandContext context, ArgumentCursor args, bool asRoot)
    {
        string[] command = args.Rest();
        if (command.Length == 0)
            throw new CommandException($"Incorrect number of arguments for {args.Command}");
        return Run(context, args.Command, new RunRequest(asRoot, command, FromBoot: false));
    }

    /// <summary><c>fim-recipe install</c>: the package manager, a container command run as root (see docs/recipes.md).</summary>
    public static int RunAsRoot(CommandContext context, string commandWord, IReadOnlyList<string> command) =>
        Run(context, commandWord, new RunRequest(true, command, FromBoot: false));

    public static int Boot(CommandContext context, string[] args) =>
        Run(context, "fim", new RunRequest(false, args, FromBoot: true));

    private static int Run(CommandContext context, string commandWord, RunRequest request)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // The actor system starts as soon as the planner has set the launcher rows in the C
        // environment (setenv, for wordexp), and plans on beside it. Not earlier: getenv on another
        // thread meanwhile (the runtime and native libraries starting the actor system call it)
        // could read a freed environ, seen as a crash in getenv on a pool thread.
        CommandActorHost? started = null;
        RunPlan plan;
        InstanceLock instanceLock;
        try
        {
            plan = RunPlanner.Plan(context.ImagePath, context.LauncherPath, context.RuntimeRoot, request, w => context.Warn(commandWord, w), out instanceLock,
                environmentSet: () => started = CommandActorHost.Start((system, registry) =>
                    registry.TryRegister<InstanceActor>(system.ActorOf(InstanceActor.Props(LayerMountProps), "instance"))));
        }
        catch
        {
            started?.Dispose();
            throw;
        }
        // Disposed last: the mount has taken its readers over by then, and closes them itself.
        using var openedLayers = plan.OpenedLayers;
        using var host = started ?? throw new InvalidOperationException("the planner never set the environment");
        ConfigureLogging(plan);
        Log.Debug("planned in {Ms} ms", clock.ElapsedMilliseconds);
        try
        {
            // The desktop entry follows the image wherever it moved; the start notification goes out
            // beside the program. Never fails the run; disposed (waited for, briefly) when it ends.
            using var desktop = Runtime.Desktop.DesktopLaunch.Start(context.ImagePath, message => Log.Warning("{Message}", message));
            Log.Debug("desktop refreshed at {Ms} ms", clock.ElapsedMilliseconds);
            var instance = host.Actor<InstanceActor>();
            Log.Debug("actor system up at {Ms} ms", clock.ElapsedMilliseconds);
            // A signal becomes a message to the instance, which forwards it to the sandbox and then
            // tears down in order.
            host.RouteSignals(signal => instance.Tell(new StopInstance(signal)));
            try
            {
                var result = instance.Ask<RunInstanceResult>(new RunInstance(plan, instanceLock), Timeout.InfiniteTimeSpan).GetAwaiter().GetResult();
                // Allocated, not "heap size": with no collection yet (the common case) the GC has
                // measured no heap, while every byte allocated so far is still resident.
                Log.Debug("run finished at {Ms} ms; {AllocatedKiB} KiB allocated, {CommittedKiB} KiB committed, after {Gen0} gen0 / {Gen2} gen2 collections",
                    clock.ElapsedMilliseconds, GC.GetTotalAllocatedBytes() / 1024, GC.GetGCMemoryInfo().TotalCommittedBytes / 1024,
                    GC.CollectionCount(0), GC.CollectionCount(2));
                if (result.Error is not null)
                    throw new CommandException(result.Error, critical: false, status: result.Status);
                return result.Status;
            }
            finally
            {
                host.Stop();
                Log.Debug("actor system down at {Ms} ms", clock.ElapsedMilliseconds);
                // The layer mount wrote the profile when it stopped (FIM_PROFILE=1, docs/cli.md §7).
                if (plan.StartProfilePath is { } profile && File.Exists(profile))
                    context.Error.WriteLine($"I::{commandWord}::Start profile saved to '{profile}'");
            }
        }
        finally
        {
            Log.CloseAndFlush();
        }
    }

    private static Props LayerMountProps(LayerMountOptions options) =>
        LayerMountActor.Props(options with
        {
            // Test hook (FIM_TEST_FUSE_FAULT=<opcode>:<count>): handler exceptions in the layer server.
            FaultInjector = Native.Fuse.FuseFaultInjection.FromEnvironment(),
        });

    /// <summary>Serilog to the instance's log file; to stderr as well only with FIM_DEBUG=1 (docs/architecture.md "Logging and output").</summary>
    private static void ConfigureLogging(RunPlan plan)
    {
        var config = new LoggerConfiguration()
            .MinimumLevel.Information()
            .WriteTo.File(Path.Combine(plan.Paths.Logs, "launcher.log"));
        if (Environment.GetEnvironmentVariable("FIM_DEBUG") == "1")
            config = config.MinimumLevel.Debug().WriteTo.Sink(new Output.DiagnosticLineSink(Console.Error, "fim"));
        Log.Logger = config.CreateLogger();
    }
}
