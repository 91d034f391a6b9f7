namespace FlatImage.Runtime.Paths;

/// <summary>A directory that must be private to the user is not.</summary>
public sealed class UnsafeDirectoryException(string message) : Exception(message);
