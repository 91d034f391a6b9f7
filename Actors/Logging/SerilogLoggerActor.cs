using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace FlatImage.Actors.Logging;

/// <summary>
/// Akka.NET's log events go to Serilog (the instance's log file; stderr only with FIM_DEBUG=1)
/// instead of Akka's standard-out logger: on a successful run the launcher prints nothing.
/// </summary>
public sealed class SerilogLoggerActor : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public SerilogLoggerActor()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<Error>(e => Serilog.Log.Error(e.Cause, "[{Source}] {Message}", e.LogSource, e.Message));
        Receive<Warning>(e => Serilog.Log.Warning("[{Source}] {Message}", e.LogSource, e.Message));
        Receive<Info>(e => Serilog.Log.Information("[{Source}] {Message}", e.LogSource, e.Message));
        Receive<Debug>(e => Serilog.Log.Debug("[{Source}] {Message}", e.LogSource, e.Message));
    }
}
