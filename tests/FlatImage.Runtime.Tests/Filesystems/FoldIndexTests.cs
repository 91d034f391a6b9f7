using System.Text;
using FlatImage.Runtime.Filesystems;

namespace FlatImage.Runtime.Tests.Filesystems;

public sealed class FoldIndexTests
{
    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    [Theory]
    [InlineData("File.TXT", "file.txt")]
    [InlineData("ΣΊΣΥΦΟΣ", "σίσυφος")]     // Greek, with final sigma
    [InlineData("ΣΊΣΥΦΟΣ", "σίσυφοσ")]
    [InlineData("\u212Aelvin", "kelvin")]  // Kelvin sign
    [InlineData("ſun", "SUN")]             // long s
    [InlineData("МОСКВА", "москва")]
    [InlineData("ÀÉÎÕÜ", "àéîõü")]
    public void Folds_every_simple_case_pair_onto_one_key(string a, string b) =>
        Assert.Equal(CaseFolding.Key(U(a)), CaseFolding.Key(U(b)));

    [Theory]
    [InlineData("straße", "strasse")] // full folding (ß -> ss) changes the length: not applied, as on NTFS
    [InlineData("a", "b")]
    [InlineData("é", "e")]
    public void Keeps_different_names_apart(string a, string b) =>
        Assert.NotEqual(CaseFolding.Key(U(a)), CaseFolding.Key(U(b)));

    [Fact]
    public void Invalid_utf8_has_no_key_and_matches_only_exactly()
    {
        byte[] bad = [0x66, 0xff, 0x41];
        Assert.Null(CaseFolding.Key(bad));
        var index = new FoldIndex();
        Assert.False(index.Add(bad));
        Assert.Equal(0, index.Count);
        Assert.Null(index.Find(bad, out _));
    }

    [Fact]
    public void Finds_the_stored_name_in_any_case_and_forgets_it_on_remove()
    {
        var index = new FoldIndex();
        index.Add(U("File.TXT"));
        Assert.Equal("File.TXT", Encoding.UTF8.GetString(index.Find(U("FILE.txt"), out bool ambiguous)!));
        Assert.False(ambiguous);
        Assert.False(index.Remove(U("file.txt"))); // removal is by the stored bytes
        Assert.True(index.Remove(U("File.TXT")));
        Assert.Null(index.Find(U("file.txt"), out _));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void With_names_that_differ_only_in_case_the_exact_one_wins_and_others_are_ambiguous()
    {
        var index = new FoldIndex();
        Assert.False(index.Add(U("readme")));
        Assert.True(index.Add(U("README")));
        Assert.True(index.Add(U("ReadMe")));
        Assert.Equal(3, index.Count);
        Assert.Equal("README", Encoding.UTF8.GetString(index.Find(U("README"), out bool exact)!));
        Assert.False(exact);
        Assert.Equal("README", Encoding.UTF8.GetString(index.Find(U("readMe"), out bool ambiguous)!)); // ordinal smallest
        Assert.True(ambiguous);
        index.Remove(U("README"));
        index.Remove(U("ReadMe"));
        Assert.Equal("readme", Encoding.UTF8.GetString(index.Find(U("READme"), out ambiguous)!));
        Assert.False(ambiguous);
    }

    [Fact]
    public void Indexes_a_hundred_thousand_names_quickly()
    {
        var index = new FoldIndex();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 100_000; i++) index.Add(U($"File{i:D6}.Dat"));
        for (int i = 0; i < 100_000; i += 7) Assert.NotNull(index.Find(U($"FILE{i:D6}.DAT"), out _));
        Assert.Equal(100_000, index.Count);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
    }
}
