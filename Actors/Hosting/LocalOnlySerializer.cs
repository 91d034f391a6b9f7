using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;

namespace FlatImage.Actors.Hosting;

/// <summary>
/// Takes the place of Akka's default serializer for every message (<c>akka.actor.serializers.json</c>,
/// Newtonsoft.Json in Akka's reference configuration). The launcher's actor system is local
/// (LocalActorRefProvider; <c>serialize-messages</c> and <c>serialize-creators</c> off): no
/// message ever leaves the process, so nothing is serialized. Akka still creates every configured
/// serializer when it starts, and under NativeAOT the Newtonsoft one keeps the whole library and
/// what it can convert (XML, DataSet, dynamic) in the launcher, with their data rehydrated at every
/// process start (bench/results/launcher-size.md). Should a message ever be serialized (a remote
/// provider, <c>serialize-messages = on</c>), this says so instead of sending it.
/// </summary>
public sealed class LocalOnlySerializer : Serializer
{
    public LocalOnlySerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    /// <summary>Akka hands over the settings of the serializer this one replaces (<c>serialization-settings.json</c>): nothing here uses them.</summary>
    public LocalOnlySerializer(ExtendedActorSystem system, Config settings)
        : base(system)
    {
    }

    /// <summary>The identifier of the serializer this one replaces (Akka's reference configuration).</summary>
    public override int Identifier => 1;

    public override bool IncludeManifest => false;

    public override byte[] ToBinary(object obj) =>
        throw new NotSupportedException($"the launcher's actor system is local and serializes no message ({obj.GetType()})");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new NotSupportedException($"the launcher's actor system is local and deserializes no message ({type})");
}
