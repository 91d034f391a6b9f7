using System.Collections.Concurrent;
using System.Threading.Channels;

namespace FlatImage.Runtime.Recipes;

/// <summary>How far loading has come, for a progress line.</summary>
public readonly record struct RecipeProgress(int Loaded, int Known);

/// <summary>
/// Loads a set of recipes and, transitively, their dependencies, several at a time, then orders
/// them with <see cref="RecipeResolver"/>.
/// <para>
/// Overview: names to load go through an unbounded channel read by a few workers. A worker loads
/// its name (download or cache), records the outcome, and writes each dependency not seen before
/// back to the channel; <c>_pending</c> counts names written but not finished, and whoever brings
/// it to zero completes the channel, which ends every worker. A failed load records its error and
/// stops there: the error is raised by the resolver when the depth-first walk reaches that name,
/// so the message does not depend on which download happened to finish first.
/// </para>
/// </summary>
public sealed class RecipeGraph
{
    /// <summary>More distinct recipes than this in one command is a hostile or broken repository.</summary>
    public const int MaxRecipes = 512;

    private readonly Func<string, CancellationToken, Task<LoadedRecipe>> _load;
    private readonly ConcurrentDictionary<string, object> _outcomes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions
    {
        // Several workers read and write (a worker queues the dependencies it found).
        SingleReader = false,
        SingleWriter = false,
    });
    private int _pending;
    private int _loaded;

    private RecipeGraph(Func<string, CancellationToken, Task<LoadedRecipe>> load) => _load = load;

    /// <returns>every recipe needed, each once, in resolution order, with where it came from.</returns>
    /// <exception cref="RecipeException">the first failure in resolution order: a load, a cycle, too many recipes.</exception>
    public static async Task<IReadOnlyList<LoadedRecipe>> LoadAsync(
        IReadOnlyList<string> names,
        Func<string, CancellationToken, Task<LoadedRecipe>> load,
        int parallelism,
        IProgress<RecipeProgress>? progress,
        CancellationToken cancel)
    {
        if (names.Count == 0)
            return [];
        var graph = new RecipeGraph(load);
        foreach (string name in names)
            graph.Enqueue(name);
        var workers = Enumerable.Range(0, Math.Max(1, parallelism)).Select(_ => graph.WorkAsync(progress, cancel)).ToArray();
        await Task.WhenAll(workers).ConfigureAwait(false);

        var ordered = RecipeResolver.Resolve(names, graph.Lookup);
        return ordered.Select(r => (LoadedRecipe)graph._outcomes[r.Name]).ToList();
    }

    private Recipe Lookup(string name) => _outcomes.TryGetValue(name, out var outcome)
        ? outcome switch
        {
            LoadedRecipe loaded => loaded.Recipe,
            RecipeException failure => throw new RecipeException(failure.Message),
            _ => throw new InvalidOperationException(),
        }
        : throw new RecipeException($"More than {MaxRecipes} recipes in one resolution");

    private void Enqueue(string name)
    {
        lock (_seen)
        {
            if (_seen.Count >= MaxRecipes || !_seen.Add(name))
                return;
        }
        Interlocked.Increment(ref _pending);
        _queue.Writer.TryWrite(name);
    }

    private async Task WorkAsync(IProgress<RecipeProgress>? progress, CancellationToken cancel)
    {
        await foreach (string name in _queue.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
        {
            try
            {
                var loaded = await _load(name, cancel).ConfigureAwait(false);
                _outcomes[name] = loaded;
                foreach (string dependency in loaded.Recipe.Dependencies)
                    Enqueue(dependency);
            }
            catch (RecipeException e)
            {
                _outcomes[name] = e;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _outcomes[name] = new RecipeException($"Could not read recipe '{name}': {Printable.Of(e.Message)}");
            }
            catch (Exception e)
            {
                // A bug: end every worker with it rather than leave them waiting for this name.
                _queue.Writer.TryComplete(e);
                throw;
            }
            int done = Interlocked.Increment(ref _loaded);
            int known;
            lock (_seen)
                known = _seen.Count;
            progress?.Report(new RecipeProgress(done, known));
            if (Interlocked.Decrement(ref _pending) == 0)
                _queue.Writer.TryComplete();
        }
    }
}
