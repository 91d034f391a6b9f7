using Akka.Actor;
using FlatImage.Actors.Hosting;
using FlatImage.Runtime.Commit;
using FlatImage.Runtime.Layers;

namespace FlatImage.Actors.Commit;

/// <summary>
/// <c>fim-layer commit</c> (docs/architecture.md, Actors): compresses the writable layer, places the new
/// layer and then empties the writable layer (<see cref="LayerCommit"/>), answering
/// <see cref="CommitLayerResult"/>. The work is blocking I/O and compression, so it runs on the
/// thread pool and its outcome comes back to the asker as a message; the actor holds no state,
/// and one commit at a time is guarded by the data directory's lock, not by the mailbox.
/// </summary>
public sealed class LayerCommitActor : UntypedActor
{
    public static Props Props() => ActorProps.From(() => new LayerCommitActor());

    protected override void OnReceive(object message)
    {
        if (message is CommitLayer request)
            HandleCommit(request);
        else
            Unhandled(message);
    }

    private void HandleCommit(CommitLayer request)
    {
        Task.Run(() => Commit(request)).PipeTo(Sender);
    }

    private static CommitLayerResult Commit(CommitLayer request)
    {
        bool placed = false;
        string? savedTo = null;
        var notRemoved = new List<(string Path, bool IsDirectory)>();
        try
        {
            savedTo = LayerCommit.Run(request.ImagePath, request.Mode, request.Destination, request.Options, request.Progress,
                target => { placed = true; savedTo = target; }, CancellationToken.None, notRemoved);
            return new CommitLayerResult(placed, savedTo, null,
                notRemoved.Count == 0 ? null : [.. notRemoved.Select(n => n.IsDirectory ? $"Could not remove directory '{n.Path}'" : $"Could not remove file '{n.Path}'")]);
        }
        catch (CommitException e)
        {
            return new CommitLayerResult(placed, savedTo, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidLayerException or Runtime.Image.InvalidImageException)
        {
            // After placement the layer is safe; a failure here only leaves the upper data in place.
            return new CommitLayerResult(placed, savedTo, e.Message);
        }
    }
}

/// <summary>Commit the writable layer of <paramref name="ImagePath"/>; answered with <see cref="CommitLayerResult"/>.</summary>
public sealed record CommitLayer(string ImagePath, CommitMode Mode, string? Destination, LayerWriterOptions Options, IProgress<LayerProgress>? Progress);

/// <summary>
/// The outcome: <paramref name="Placed"/> once the new layer is durable (then <paramref name="SavedTo"/>
/// is its path, null for a binary commit); <paramref name="Error"/> is the primary message of a failure;
/// <paramref name="Warnings"/> name what of the old writable layer could not be deleted (null when
/// everything was): the commit itself succeeded, the writable layer is empty.
/// </summary>
public sealed record CommitLayerResult(bool Placed, string? SavedTo, string? Error, IReadOnlyList<string>? Warnings = null);
