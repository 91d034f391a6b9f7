namespace FlatImage.Runtime.Sandbox;

/// <summary>A host directory bound at <paramref name="Guest"/> inside the sandbox.</summary>
public sealed record GuestBind(string Guest, string Host);
