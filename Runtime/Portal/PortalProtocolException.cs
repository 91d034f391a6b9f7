namespace FlatImage.Runtime.Portal;

/// <summary>A peer broke the portal protocol (bad size, type, string or fd): that connection is closed, nothing else.</summary>
public sealed class PortalProtocolException(string message) : IOException(message);
