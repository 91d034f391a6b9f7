using Serilog.Core;
using Serilog.Events;

namespace FlatImage.Cli.Output;

/// <summary>
/// Serilog events as the spec's diagnostic lines (docs/cli.md §1.2): <c>&lt;L&gt;::&lt;cmd&gt;::&lt;message&gt;</c>,
/// one line each (newlines in a message become spaces), on the given writer — stderr.
/// </summary>
public sealed class DiagnosticLineSink(TextWriter output, string command) : ILogEventSink
{
    private readonly Lock _gate = new();

    public void Emit(LogEvent logEvent)
    {
        char level = logEvent.Level switch
        {
            LogEventLevel.Verbose or LogEventLevel.Debug => 'D',
            LogEventLevel.Information => 'I',
            LogEventLevel.Warning => 'W',
            LogEventLevel.Error => 'E',
            _ => 'C',
        };
        string message = logEvent.RenderMessage().ReplaceLineEndings(" ");
        if (logEvent.Exception is { } e)
            message += $": {e.Message.ReplaceLineEndings(" ")}";
        lock (_gate)
            output.WriteLine($"{level}::{command}::{message}");
    }
}
