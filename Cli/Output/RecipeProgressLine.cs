using FlatImage.Runtime.Recipes;

namespace FlatImage.Cli.Output;

/// <summary>
/// <c>Fetching recipes: 3/7</c> on stderr, redrawn in place while downloads run; shown only when
/// stderr is a terminal, and erased when done so the confirmation lines start on a clean line.
/// </summary>
public sealed class RecipeProgressLine(TextWriter stderr) : IProgress<RecipeProgress>
{
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private readonly Lock _gate = new();
    private bool _shown;

    public void Report(RecipeProgress value)
    {
        if (!_terminal)
            return;
        lock (_gate)
        {
            stderr.Write($"\rFetching recipes: {value.Loaded}/{value.Known}");
            stderr.Flush();
            _shown = true;
        }
    }

    /// <summary>Erases the line (ECMA-48 EL, "erase in line").</summary>
    public void Clear()
    {
        lock (_gate)
        {
            if (_shown)
                stderr.Write("\r\x1b[2K");
            stderr.Flush();
            _shown = false;
        }
    }
}
