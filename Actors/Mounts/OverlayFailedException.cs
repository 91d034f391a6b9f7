namespace FlatImage.Actors.Mounts;

/// <summary>The overlay could not be mounted, or its daemon died.</summary>
public sealed class OverlayFailedException(string message) : Exception(message);
