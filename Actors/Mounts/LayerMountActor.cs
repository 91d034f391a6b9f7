using Akka.Actor;
using FlatImage.Actors.Hosting;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;

namespace FlatImage.Actors.Mounts;

/// <summary>
/// Owns one layer mount (<see cref="ServedMountActor{TMount}"/> says how): for a run, the one FUSE
/// server of its whole read-only stack, merged (<c>layers</c> under MountSupervisor); for
/// <c>fim-layer mount</c>, whatever it serves.
/// </summary>
public sealed class LayerMountActor : ServedMountActor<LayerMount>
{
    private readonly LayerMountOptions _options;

    // Made only by Props' delegate: no reflection reaches it.
    private LayerMountActor(LayerMountOptions options, IActorRef? reportTo, MountHolder<LayerMount> holder)
        : base("layer mount", options.Mountpoint, reportTo, holder)
    {
        _options = options;
    }

    protected override void OnReceive(object message)
    {
        // Tests only: the live mount, to reach its session.
        if (message is GetLayerMount)
            Sender.Tell(new GetLayerMountResult(Mount));
        else
            base.OnReceive(message);
    }

    /// <summary>
    /// Props for one actor: each call creates the holder its incarnations share, so use the
    /// returned Props for exactly one ActorOf. <paramref name="reportTo"/> gets MountReady or
    /// MountFailed; null means the parent.
    /// </summary>
    public static Props Props(LayerMountOptions options, IActorRef? reportTo = null)
    {
        var holder = new MountHolder<LayerMount>();
        return ActorProps.From(() => new LayerMountActor(options, reportTo, holder)).WithDispatcher(ActorDispatchers.Blocking);
    }

    protected override LayerMount StartMount(Action<FuseWorkerFault> onFault) => LayerMount.Start(_options, onFault);
}

/// <summary>Test hook (internal): asks for the live <see cref="LayerMount"/>.</summary>
internal sealed record GetLayerMount
{
    public static GetLayerMount Instance { get; } = new();
    private GetLayerMount() { }
}

/// <summary>Reply to <see cref="GetLayerMount"/>; null when nothing is mounted.</summary>
internal sealed record GetLayerMountResult(LayerMount? Mount);
