using Akka.Actor;
using Akka.Event;
using FlatImage.Actors.Hosting;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;

namespace FlatImage.Actors.Mounts;

/// <summary>
/// Owns the casefold mount of one run (docs/architecture.md, "Actors": casefold under
/// MountSupervisor): the case-insensitive, case-preserving view of the writable overlay that
/// becomes the sandbox's root. <see cref="ServedMountActor{TMount}"/> says how it is owned.
/// </summary>
public sealed class CasefoldMountActor : ServedMountActor<CasefoldMount>
{
    private readonly CasefoldMountOptions _options;

    // Made only by Props' delegate: no reflection reaches it.
    private CasefoldMountActor(CasefoldMountOptions options, IActorRef? reportTo, MountHolder<CasefoldMount> holder)
        : base("casefold mount", options.Mountpoint, reportTo, holder)
    {
        _options = options;
    }

    /// <summary>
    /// Props for exactly one ActorOf (each call creates the holder its incarnations share).
    /// <paramref name="reportTo"/> gets MountReady or MountFailed; null means the parent.
    /// </summary>
    public static Props Props(CasefoldMountOptions options, IActorRef? reportTo = null)
    {
        var holder = new MountHolder<CasefoldMount>();
        // Mounting waits for FUSE_INIT and unmounting for the session: on a thread of its own (ActorDispatchers.Blocking).
        return ActorProps.From(() => new CasefoldMountActor(options, reportTo, holder)).WithDispatcher(ActorDispatchers.Blocking);
    }

    protected override CasefoldMount StartMount(Action<FuseWorkerFault> onFault)
    {
        var log = Log;
        // The filesystem logs from worker threads: the adapter is thread-safe, and a Tell never blocks a worker.
        return CasefoldMount.Start(_options with { Log = message => log.Warning("{0}", message) }, onFault);
    }
}
