using System.Diagnostics;

namespace FlatImage.Runtime.Tests.Fuzz;

/// <summary>
/// A bounded in-test fuzzer. For one target: every file of <c>corpus/&lt;target&gt;/</c> is run
/// first (seeds and the inputs of crashes found earlier, kept as regressions), then mutations of
/// them for a fixed time. An input passes when the target returns or throws one of the exception
/// types the parser documents; anything else (IndexOutOfRange, NullReference, Overflow, OOM from
/// a huge length, a hang) fails the test with the seed and the input, which is also written to
/// a file ready to be copied into the corpus.
///
/// FIM_FUZZ_SECONDS sets the time per target (default 3); FIM_FUZZ_SEED the first seed.
/// </summary>
internal static class Fuzzer
{
    public sealed record Report(string Target, int Corpus, long Inputs, TimeSpan Elapsed);

    public static TimeSpan Budget =>
        TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("FIM_FUZZ_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out double s) ? s : 3);

    public static string CorpusDirectory(string target) => Path.Combine(AppContext.BaseDirectory, "Fuzz", "corpus", target);

    /// <param name="run">the parser under test; it throws only on bad input.</param>
    /// <param name="expected">the exception types that are a clean rejection.</param>
    /// <param name="prepare">turns a mutated input into what the parser gets (e.g. re-seals checksums), or returns it as is.</param>
    public static Report Run(string target, Action<byte[]> run, Type[] expected, Func<byte[], byte[]>? prepare = null, IEnumerable<byte[]>? extraSeeds = null)
    {
        var corpus = Directory.Exists(CorpusDirectory(target))
            ? Directory.GetFiles(CorpusDirectory(target)).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList()
            : [];
        corpus.AddRange(extraSeeds ?? []);
        Assert.True(corpus.Count > 0, $"no corpus for {target}");
        foreach (var input in corpus)
            Check(target, run, expected, input, "corpus");

        int seed = int.TryParse(Environment.GetEnvironmentVariable("FIM_FUZZ_SEED"), out int s) ? s : target.Length * 7919;
        var mutator = new Mutator(seed);
        var clock = Stopwatch.StartNew();
        long inputs = corpus.Count;
        while (clock.Elapsed < Budget)
        {
            var parent = corpus[mutator.Next(corpus.Count)];
            var other = corpus[mutator.Next(corpus.Count)];
            var input = mutator.Mutate(parent, other);
            if (prepare is not null)
                input = prepare(input);
            Check(target, run, expected, input, $"seed {seed}, input {inputs}");
            inputs++;
        }
        return new Report(target, corpus.Count, inputs, clock.Elapsed);
    }

    private static void Check(string target, Action<byte[]> run, Type[] expected, byte[] input, string origin)
    {
        try
        {
            run(input);
        }
        catch (Exception e) when (expected.Any(t => t.IsInstanceOfType(e)))
        {
            // A clean rejection: the parser's own exception, which the CLI prints as one line. No
            // control character either: a message quoting the input could carry terminal escape
            // sequences to the user's screen.
            if (string.IsNullOrWhiteSpace(e.Message) || e.Message.Any(char.IsControl))
                Fail(target, input, $"{origin}: a rejection must be one printable line: '{e.Message}'");
        }
        catch (Exception e)
        {
            Fail(target, input, $"{origin}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
        }
    }

    private static void Fail(string target, byte[] input, string what)
    {
        string file = Path.Combine(Path.GetTempPath(), $"fim-fuzz-{target}-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(file, input);
        Assert.Fail($"{target} ({what})\ninput saved to {file} (add it to tests/FlatImage.Runtime.Tests/Fuzz/corpus/{target}/ once fixed)");
    }
}
