using Serilog;
using Akka.Actor;
using Akka.Hosting;
using FlatImage.Actors.Mounts;
using FlatImage.Cli.CommandLine;
using FlatImage.Cli.Hosting;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Cli.Commands;

/// <summary>
/// <c>fim-layer mount &lt;file&gt; &lt;dir&gt; [index]</c>: serves layers at &lt;dir&gt; in the
/// foreground until SIGINT, SIGTERM or SIGHUP, then unmounts and exits 0. &lt;file&gt; is a layer
/// file (served as stored, whiteouts shown), or an image (an ELF file): without &lt;index&gt; its
/// whole read-only stack merged as a run sees it (embedded layers, <c>FIM_LAYERS</c>, the data
/// directory's <c>layers/</c>), with &lt;index&gt; that one embedded layer as stored. Not in
/// FlatImage: a debugging and inspection aid, and the way the benchmark mounts a layer.
/// </summary>
public static class LayerMountCommand
{
    private static readonly TimeSpan MountTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    public static int Run(CommandContext context, ArgumentCursor args)
    {
        if (args.Remaining is < 2 or > 3)
            throw new CommandException("mount requires a layer file or image, a directory and an optional layer index");
        string file = Path.GetFullPath(args.Next()!);
        string dir = Path.GetFullPath(args.Next()!);
        string? indexText = args.Next();
        if (!Directory.Exists(dir))
            throw new CommandException($"Mount point '{dir}' is not a directory", critical: false);
        var (layers, what) = Locate(context, file, indexText, dir);

        var options = Tuned(layers with
        {
            FsName = "flatimage-layer",
            FaultInjector = FuseFaultInjection.FromEnvironment(),
        });
        // A foreground inspection server: its warnings (a faulting request, a restarted worker) go to
        // stderr; everything with FIM_DEBUG=1.
        Serilog.Log.Logger = new Serilog.LoggerConfiguration()
            .MinimumLevel.Is(Environment.GetEnvironmentVariable("FIM_DEBUG") == "1" ? Serilog.Events.LogEventLevel.Debug : Serilog.Events.LogEventLevel.Warning)
            .WriteTo.Sink(new Output.DiagnosticLineSink(Console.Error, "fim-layer"))
            .CreateLogger();

        // A killed server must leave no mount: fusermount3's auto_unmount cannot clean a mount made
        // without allow_other (docs/architecture.md), so the janitor watches this process as it does for runs.
        using var janitor = Runtime.Instances.JanitorProcess.Start(context.LauncherPath);
        janitor.Mounted(dir);

        Inbox? inbox = null;
        IActorRef? mountActor = null;
        using var stop = new ManualResetEventSlim();
        using var host = CommandActorHost.Start((system, registry) =>
        {
            inbox = Inbox.Create(system);
            mountActor = system.ActorOf(LayerMountActor.Props(options, inbox.Receiver), "layer-0");
            inbox.Watch(mountActor);
            registry.TryRegister<LayerMountActor>(mountActor);
        });
        // Routed before the mount exists, so that a signal during start-up cannot end the process
        // between the mount and its teardown: it only sets the event, and this thread tears down.
        host.RouteSignals(_ => stop.Set());
        // Teardown has one route (docs/contributing.md): the service-stop phase stops the mount actor and waits
        // for its PostStop (the unmount) before the actor system goes down.
        CoordinatedShutdown.Get(host.System).AddTask(CoordinatedShutdown.PhaseServiceStop, "stop-layer-mount", async () =>
        {
            try
            {
                await mountActor!.GracefulStop(StopTimeout).ConfigureAwait(false);
            }
            catch (TaskCanceledException)
            {
                // GracefulStop timed out; the system's own termination stops the actor anyway.
            }
            return Akka.Done.Instance;
        });

        string? failure = null;
        object first;
        try
        {
            first = inbox!.Receive(MountTimeout);
        }
        catch (TimeoutException)
        {
            first = new MountFailed(dir, new TimeoutException($"no answer within {MountTimeout.TotalSeconds} s"));
        }
        switch (first)
        {
            case MountReady:
                // Serve until a signal, or until the actor ends (the mount was taken away from outside).
                var ended = Task.Run(async () =>
                {
                    while (true)
                    {
                        try
                        {
                            if (await inbox!.ReceiveAsync(TimeSpan.FromHours(1)).ConfigureAwait(false) is Terminated) return;
                        }
                        catch (TimeoutException) { }
                    }
                });
                WaitHandle.WaitAny([stop.WaitHandle, ((IAsyncResult)ended).AsyncWaitHandle]);
                // Only a Terminated without a signal means the mount was lost; should a signal's
                // shutdown ever end the actor before this thread looks, it is not worth a warning.
                if (ended.IsCompleted && !stop.IsSet)
                    context.Warn("fim-layer", $"The mount on '{dir}' went away");
                break;
            case MountFailed f:
                failure = $"Failed to mount {what} on '{dir}': {f.Cause.Message}";
                break;
            default:
                failure = $"Failed to mount {what} on '{dir}'";
                break;
        }
        host.Stop();
        janitor.Unmounted(dir);
        Serilog.Log.CloseAndFlush();
        if (failure is not null)
            throw new CommandException(failure, critical: false);
        return 0;
    }

    /// <summary>
    /// Tuning knobs for bench/layers-read.sh, read from the environment: FIM_LAYER_WORKERS (FUSE
    /// worker threads), FIM_LAYER_CACHE_MB (decompressed-block cache), FIM_LAYER_MAX_PAGES (pages per
    /// READ), FIM_LAYER_READAHEAD_KB (the mount's readahead window). Unset or invalid = the defaults.
    /// </summary>
    private static LayerMountOptions Tuned(LayerMountOptions options)
    {
        if (Number("FIM_LAYER_WORKERS") is { } workers and >= 1 and <= 64)
            options = options with { Workers = (int)workers };
        if (Number("FIM_LAYER_CACHE_MB") is { } cache and >= 1 and <= 65536)
            options = options with { Reader = options.Reader with { CacheBytes = cache * 1024 * 1024 } };
        if (Number("FIM_LAYER_MAX_PAGES") is { } pages and >= 32 and <= 256)
            options = options with { MaxPages = (ushort)pages };
        if (Number("FIM_LAYER_READAHEAD_KB") is { } readahead and >= 0 and <= 65536)
            options = options with { ReadAheadKilobytes = (uint)readahead };
        return options;

        static long? Number(string name)
            => long.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out long n) ? n : null;
    }

    /// <summary>What to serve from <paramref name="file"/>: all of a layer file, one embedded layer of an image, or an image's whole stack.</summary>
    private static (LayerMountOptions Layers, string What) Locate(CommandContext context, string file, string? indexText, string dir)
    {
        Span<byte> magic = stackalloc byte[4];
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandException($"Failed to open '{file}': {e.Message}", critical: false);
        }
        using (handle)
        {
            int n = RandomAccess.Read(handle, magic, 0);
            if (n < 4 || magic is not [0x7f, (byte)'E', (byte)'L', (byte)'F'])
            {
                if (indexText is not null)
                    throw new CommandException($"'{file}' is a layer file, not an image: it has no layer index", critical: false);
                return (LayerMountOptions.Single(file, 0, -1, dir), $"layer '{file}'");
            }
            if (indexText is null)
            {
                var stack = LayerStack.Resolve(file, warning => context.Warn("fim-layer", warning));
                if (stack.Count == 0)
                    throw new CommandException($"The image '{file}' has no layers", critical: false);
                return (new LayerMountOptions(stack, dir), $"the layers of '{file}'");
            }
            var layers = EmbeddedLayers.Read(handle, ImageLayout.Read(handle), file).Layers;
            if (layers.Count == 0)
                throw new CommandException($"The image '{file}' has no embedded layers", critical: false);
            if (!int.TryParse(indexText, out int index) || index < 0 || index >= layers.Count)
                throw new CommandException($"Invalid layer index '{indexText}' (the image has {layers.Count} layers, 0 to {layers.Count - 1})", critical: false);
            return (LayerMountOptions.Single(file, layers[index].Offset, layers[index].Size, dir), $"layer {index} of '{file}'");
        }
    }
}
