using Akka.Actor;
using Akka.Event;
using FlatImage.Actors.Hosting;
using FlatImage.Actors.Processes;
using FlatImage.Native.Fuse;
using FlatImage.Native.Spawn;
using FlatImage.Runtime.Instances;

namespace FlatImage.Actors.Mounts;

/// <summary>
/// Owns the overlay daemon (fuse-overlayfs or unionfs-fuse) that merges the layer mounts with the
/// writable layer at the instance's <c>mount/</c>. PreStart starts it and waits until the merged
/// mount is in the mount table; a daemon that dies while the instance runs makes this actor fail
/// (the supervisor stops it and the instance ends with that error); PostStop unmounts and reaps it.
/// </summary>
public sealed class OverlayMountActor : UntypedActor
{
    private readonly IReadOnlyList<string> _command;
    private readonly string _merged;
    private readonly JanitorProcess _janitor;
    private readonly string _logFile;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ChildProcess? _daemon;
    private bool _stopping;

    public OverlayMountActor(IReadOnlyList<string> command, string merged, JanitorProcess janitor, string logFile)
    {
        _logFile = logFile;
        _command = command;
        _merged = merged;
        _janitor = janitor;
    }

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case ChildExited childExited:
                HandleDaemonExited(childExited);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props Props(IReadOnlyList<string> command, string merged, JanitorProcess janitor, string logFile) =>
        ActorProps.From(() => new OverlayMountActor(command, merged, janitor, logFile)).WithDispatcher(ActorDispatchers.Blocking);

    protected override void PreStart()
    {
        Directory.CreateDirectory(_merged);
        // The daemon's chatter ("unknown argument ignored: lazytime") goes to the instance log, not the user's terminal.
        using (var log = File.OpenHandle(_logFile, FileMode.Append, FileAccess.Write))
        using (var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read))
            _daemon = ChildProcess.Start(_command[0], _command, ChildProcess.EnvironmentWith(), [(devNull, 0), (log, 1), (log, 2)]);
        // Tell the janitor before the mount exists: if we die in the next instant, it still knows the path.
        _janitor.Mounted(_merged);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!FuseMount.IsInMountinfo(_merged))
        {
            if (_daemon.WaitForExit(TimeSpan.FromMilliseconds(1)) is { } status)
                throw new OverlayFailedException($"{Path.GetFileName(_command[0])} failed to mount {_merged}: {ChildProcess.Describe(status)}");
            if (DateTime.UtcNow > deadline)
                throw new OverlayFailedException($"{Path.GetFileName(_command[0])} did not mount {_merged} within 20 s");
        }
        _log.Info("overlay mounted at {0}", _merged);
        ChildExited.Report(_daemon, Self, "overlay-wait");
        Context.Parent.Tell(new MountReady(_merged));
    }

    private void HandleDaemonExited(ChildExited exited)
    {
        if (_stopping)
            return;
        throw new OverlayFailedException($"{Path.GetFileName(_command[0])} exited while the program was running ({ChildProcess.Describe(exited.WaitStatus)})");
    }

    /// <summary>Unmount first (the daemon then exits by itself), SIGKILL after 2 s; never throws.</summary>
    protected override void PostStop()
    {
        _stopping = true;
        if (_daemon is null)
            return;
        if (FuseMount.IsInMountinfo(_merged))
            FuseMount.DetachLazily(_merged);
        _daemon.Stop(TimeSpan.FromSeconds(2));
        _daemon.Dispose();
        _janitor.Unmounted(_merged);
        _log.Info("overlay unmounted from {0}", _merged);
    }

    /// <summary>A restart would start a second daemon on the same mount point: overlays are stopped, not restarted.</summary>
    protected override void PreRestart(Exception reason, object message) => PostStop();
}
