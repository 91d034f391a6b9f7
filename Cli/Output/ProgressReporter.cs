using System.Threading.Channels;
using FlatImage.Runtime.Layers;

namespace FlatImage.Cli.Output;

/// <summary>
/// Progress of long work on stderr: a bar redrawn in place on a terminal, and otherwise a plain
/// line at every tenth, so logs of scripted builds stay readable.
///
/// The compression workers report from their own threads and must never wait for a slow
/// terminal: an update is handed over through a channel that holds only the newest one (older
/// ones waiting are dropped: a bar shows where the work is, not where it was), and one drawing
/// task writes. Dispose waits until the last update is drawn, so that the command's next line
/// comes after the bar.
/// </summary>
public sealed class ProgressReporter : IProgress<LayerProgress>, IDisposable
{
    private const int Width = 30;
    private readonly TextWriter _stderr;
    private readonly string _label;
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private readonly Channel<LayerProgress> _updates = Channel.CreateBounded<LayerProgress>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly Task _drawing;
    private int _lastShown = -1;

    public ProgressReporter(TextWriter stderr, string label)
    {
        _stderr = stderr;
        _label = label;
        _drawing = Task.Run(Draw);
    }

    public void Report(LayerProgress value) => _updates.Writer.TryWrite(value);

    public void Dispose()
    {
        _updates.Writer.TryComplete();
        _drawing.GetAwaiter().GetResult();
    }

    private async Task Draw()
    {
        await foreach (var value in _updates.Reader.ReadAllAsync().ConfigureAwait(false))
            Show(value);
    }

    /// <summary>On the drawing task only.</summary>
    private void Show(LayerProgress value)
    {
        long total = Math.Max(1, value.BytesTotal);
        int percent = (int)Math.Clamp(value.BytesDone * 100 / total, 0, 100);
        int step = _terminal ? percent : percent / 10 * 10;
        if (step == _lastShown)
            return;
        _lastShown = step;
        string counts = $"{value.FilesDone}/{value.FilesTotal} files, {Mib(value.BytesDone)}/{Mib(value.BytesTotal)} MiB";
        if (_terminal)
        {
            int filled = percent * Width / 100;
            _stderr.Write($"\r{_label} [{new string('#', filled)}{new string('-', Width - filled)}] {percent,3}% {counts}");
            if (percent == 100)
                _stderr.WriteLine();
        }
        else
        {
            _stderr.WriteLine($"{_label}: {step}% ({counts})");
        }
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
}
