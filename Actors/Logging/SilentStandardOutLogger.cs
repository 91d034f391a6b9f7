using Akka.Event;

namespace FlatImage.Actors.Logging;

/// <summary>
/// Takes the place of Akka's standard-out logger (<c>akka.stdout-logger-class</c>), which Akka
/// uses while the system starts and stops and as its fallback when a configured logger is slow
/// to initialise. `akka.stdout-loglevel = OFF` silences its normal subscriptions, yet under heavy
/// load one `[INFO]` line still reached a run's stdout. The launcher's stdout belongs to the
/// program alone (docs/architecture.md "Logging and output"), so this logger drops everything.
/// </summary>
public sealed class SilentStandardOutLogger : MinimalLogger
{
    protected override void Log(object message)
    {
    }
}
