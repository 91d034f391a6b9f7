using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace FlatImage.Actors.Logging;

/// <summary>
/// Akka.NET's log events go to Serilog (the instance's log file; stderr only with FIM_DEBUG=1)
/// instead of Akka's standard-out logger: on a successful run the launcher prints nothing.
/// </summary>
public sealed class SerilogLoggerActor : UntypedActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                break;
            case Error e:
                Serilog.Log.Error(e.Cause, "[{Source}] {Message}", e.LogSource, e.Message);
                break;
            case Warning e:
                Serilog.Log.Warning("[{Source}] {Message}", e.LogSource, e.Message);
                break;
            case Info e:
                Serilog.Log.Information("[{Source}] {Message}", e.LogSource, e.Message);
                break;
            case Debug e:
                Serilog.Log.Debug("[{Source}] {Message}", e.LogSource, e.Message);
                break;
            default:
                Unhandled(message);
                break;
        }
    }
}
