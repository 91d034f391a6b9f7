using FlatImage.Runtime.Layers;

namespace FlatImage.Cli.Output;

/// <summary>
/// Progress of long work on stderr: a bar redrawn in place on a terminal, and otherwise a plain
/// line at every tenth, so logs of scripted builds stay readable.
/// </summary>
public sealed class ProgressReporter(TextWriter stderr, string label) : IProgress<LayerProgress>
{
    private const int Width = 30;
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private readonly Lock _gate = new();
    private int _lastShown = -1;

    public void Report(LayerProgress value)
    {
        long total = Math.Max(1, value.BytesTotal);
        int percent = (int)Math.Clamp(value.BytesDone * 100 / total, 0, 100);
        lock (_gate)
        {
            int step = _terminal ? percent : percent / 10 * 10;
            if (step == _lastShown)
                return;
            _lastShown = step;
            string counts = $"{value.FilesDone}/{value.FilesTotal} files, {Mib(value.BytesDone)}/{Mib(value.BytesTotal)} MiB";
            if (_terminal)
            {
                int filled = percent * Width / 100;
                stderr.Write($"\r{label} [{new string('#', filled)}{new string('-', Width - filled)}] {percent,3}% {counts}");
                if (percent == 100)
                    stderr.WriteLine();
            }
            else
            {
                stderr.WriteLine($"{label}: {step}% ({counts})");
            }
        }
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
}
