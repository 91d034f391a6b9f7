namespace FlatImage.Actors;

internal static class ActorSystemSetup { }
