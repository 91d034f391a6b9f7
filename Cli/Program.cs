using System.Text;
using FlatImage.Cli.CommandLine;
using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Tools;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Paths;

namespace FlatImage.Cli;

public static class Program
{
    /// <summary>Exit status of every launcher failure (docs/cli.md §1.3).</summary>
    public const int FailureStatus = 125;

    public static int Main(string[] args)
    {
        // An inherited SIG_IGN for SIGCHLD makes the kernel reap children itself and their exit
        // statuses are lost; reset it first thing, as bubblewrap does.
        Stdlib.signal(Signal.SIGCHLD, Stdlib.SIG_DFL);

        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 64 * 1024) { AutoFlush = false };
        var stderr = new StreamWriter(Console.OpenStandardError(), new UTF8Encoding(false)) { AutoFlush = true };
        string command = Dispatcher.CommandWord(args);
        // A failure on a thread of our own that nothing caught: one line, then the janitor tidies up.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            stderr.WriteLine($"E::{command}::Unexpected failure: {(e.ExceptionObject is Exception x ? Unexpected(x) : "unknown")}");
            Environment.Exit(FailureStatus);
        };
        try
        {
            return Run(args, stdout, stderr);
        }
        catch (Exception e) when (Describe(e) is { } failure)
        {
            stdout.Flush();
            stderr.WriteLine($"{failure.Level}::{command}::{failure.Message}");
            return e is CommandException c ? c.Status : FailureStatus;
        }
        catch (Exception e)
        {
            // A bug, not a failure we foresaw: still one line, with the details only for FIM_DEBUG=1.
            stdout.Flush();
            stderr.WriteLine($"E::{command}::Unexpected failure: {Unexpected(e)}");
            return FailureStatus;
        }
        finally
        {
            stdout.Flush();
        }
    }

    private static int Run(string[] args, StreamWriter stdout, StreamWriter stderr)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find the launcher's own path");

        // Janitor mode: this process is a launcher's janitor (see MountJanitor).
        if (MountJanitor.Requested)
            return MountJanitor.RunInOwnSession();

        // FIM_MAIN_OFFSET: print where the configuration region starts and stop, before anything else.
        if (Environment.GetEnvironmentVariable("FIM_MAIN_OFFSET") is not null)
        {
            string image = Relocation.RelocatedImage(RuntimeDirectory.Resolve()) ?? self;
            using var file = File.OpenHandle(image, FileMode.Open, FileAccess.Read);
            stdout.WriteLine(ImageLayout.Read(file).ConfigOffset);
            return 0;
        }

        string runtimeRoot = RuntimeDirectory.Ensure();
        string? imagePath = Relocation.RelocatedImage(runtimeRoot);
        if (imagePath is null && !Dispatcher.IsReadOnly(args))
        {
            // Not relocated yet: exec the private copy. If that fails (a noexec runtime directory,
            // say) carry on from the image itself; only writes to the image can then hit ETXTBSY.
            Relocation.Reexec(self, runtimeRoot, args);
        }
        imagePath ??= self;

        if (Environment.GetEnvironmentVariable("FIM_SELFTEST") == "actors")
            return ActorSelfTest.Run(stdout);

        return Dispatcher.Run(new CommandContext(imagePath, stdout, stderr, runtimeRoot, self), args);
    }

    private static string Unexpected(Exception e) =>
        Environment.GetEnvironmentVariable("FIM_DEBUG") == "1" ? e.ToString() : $"{e.Message} ({e.GetType().Name})";

    /// <summary>The exceptions that are a failure to report in one line, as the spec's messages; anything else is a bug (still one line, see Main).</summary>
    private static (char Level, string Message)? Describe(Exception e) => e switch
    {
        CommandException c => (c.Level, c.Message),
        ToolMissingException => ('C', e.Message),
        Runtime.Desktop.DesktopIntegrationException => ('E', e.Message),
        Runtime.Sandbox.SandboxUnavailableException => ('E', e.Message),
        InvalidImageException or ConfigTooLargeException or UnsafeDirectoryException or InvalidLayerException => ('E', e.Message),
        ErrnoException or IOException or UnauthorizedAccessException or InvalidDataException => ('E', e.Message),
        _ => null,
    };
}
