namespace FlatImage.Runtime.Commit;

/// <summary>A commit refused or failed for a reason the user can act on; the message is the spec's primary message.</summary>
public sealed class CommitException(string message) : Exception(message);
