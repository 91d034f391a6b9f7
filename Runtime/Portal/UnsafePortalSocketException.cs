namespace FlatImage.Runtime.Portal;

/// <summary>A portal socket, or its directory, is not what the launcher made (a symlink, another owner, open to others): nothing was sent to it.</summary>
public sealed class UnsafePortalSocketException(string message) : IOException(message);
