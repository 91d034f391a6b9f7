using Akka.Actor;

namespace FlatImage.Actors.Hosting;

/// <summary>
/// Props whose actor is made by an ordinary delegate. Every actor of the launcher gets its Props
/// here, not from <c>Props.Create(() =&gt; new X(...))</c>: that overload takes an expression tree,
/// which the caller builds at every call (System.Linq.Expressions validates each argument), which
/// Akka then evaluates argument by argument, and whose actor it finally makes with
/// <c>Activator.CreateInstance</c>, a reflection lookup of the constructor. Under NativeAOT all
/// of that is interpreted, on the thread that starts the actor (bench/results/start.md), and it
/// keeps the actor's constructor alive only as reflection metadata. A delegate is a direct call.
/// </summary>
public static class ActorProps
{
    /// <param name="create">makes a fresh actor on every call, as Akka asks of a producer (a restart calls it again).</param>
    public static Props From<TActor>(Func<TActor> create) where TActor : ActorBase =>
        Props.CreateBy(new DelegateProducer<TActor>(create));

    private sealed class DelegateProducer<TActor>(Func<TActor> create) : IIndirectActorProducer where TActor : ActorBase
    {
        public Type ActorType => typeof(TActor);

        public ActorBase Produce() => create();

        public void Release(ActorBase actor)
        {
        }
    }
}
