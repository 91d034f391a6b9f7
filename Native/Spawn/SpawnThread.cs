using System.Threading.Channels;

namespace FlatImage.Native.Spawn;

/// <summary>
/// The one thread every child of the launcher is started from. It is created on first use and
/// lives until the process ends.
///
/// Why a thread of its own: a child's "parent" for PR_SET_PDEATHSIG (prctl(2)) is the *thread*
/// that created it, not the process. bubblewrap's <c>--die-with-parent</c> is that signal, so a
/// sandbox started from a thread-pool or actor-dispatcher thread was SIGKILLed as soon as .NET
/// retired that idle thread (about 20 s into every run). Started from here, the signal fires only
/// when the whole launcher dies — exactly what <c>--die-with-parent</c> is for (a SIGKILLed
/// launcher never leaves an orphaned program on mounts that are about to be torn down).
///
/// The other children are started here too, so that no child's life can ever depend on which
/// thread asked for it: fusermount3 (mount and unmount helpers), the overlay daemons
/// (fuse-overlayfs, unionfs-fuse), the janitor and the portal's host commands. None of those sets
/// PR_SET_PDEATHSIG today; they end through their own channels (the janitor's pipe reaching EOF,
/// an unmount, the portal session closing), which this thread does not change.
///
/// Requests arrive through a channel with one reader; the caller blocks until its child exists
/// (posix_spawn returns as soon as the child has exec'd), so the hop costs microseconds.
/// </summary>
internal static class SpawnThread
{
    private sealed record Request(Func<ChildProcess> Spawn, TaskCompletionSource<ChildProcess> Result);

    // Unbounded: each caller waits for its own answer, so the queue never holds more than the
    // number of threads spawning at once. One reader: the spawn thread.
    private static readonly Channel<Request> Requests = Channel.CreateUnbounded<Request>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });

    private static readonly Lazy<Thread> Spawner = new(StartThread, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Runs <paramref name="spawn"/> on the spawn thread and returns its child (or rethrows its exception).</summary>
    public static ChildProcess Run(Func<ChildProcess> spawn)
    {
        if (Thread.CurrentThread == Spawner.Value)
            return spawn();
        // RunContinuationsAsynchronously: the waiting caller must never continue on the spawn thread.
        var result = new TaskCompletionSource<ChildProcess>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Requests.Writer.TryWrite(new Request(spawn, result)))
            throw new InvalidOperationException("the spawn thread is not accepting requests");
        return result.Task.GetAwaiter().GetResult();
    }

    private static Thread StartThread()
    {
        // A background thread: it must never keep the process alive, and the process's end is its end.
        var thread = new Thread(Serve) { IsBackground = true, Name = "fim-spawn" };
        thread.Start();
        return thread;
    }

    private static void Serve()
    {
        var reader = Requests.Reader;
        // Blocking is the point here: this thread exists only to wait for spawn requests.
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (reader.TryRead(out var request))
            {
                try
                {
                    request.Result.SetResult(request.Spawn());
                }
                catch (Exception e)
                {
                    request.Result.SetException(e);
                }
            }
        }
    }
}
