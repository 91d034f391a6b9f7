using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>FIM_COMPRESSION_LEVEL (docs/cli.md §7). Runs serially: it sets a process-wide variable.</summary>
[Collection(nameof(EnvironmentVariableCollection))]
public sealed class LayerWriterOptionsTests
{
    [Theory]
    [InlineData(null, 7)]
    [InlineData("", 7)]
    [InlineData("fast", 7)]
    [InlineData("-1", 7)]
    [InlineData("0", 0)]
    [InlineData("3", 3)]
    [InlineData("9", 9)]
    [InlineData("10", 9)]
    [InlineData("99999999999", 9)]
    public void Compression_level_comes_from_the_environment_clamped_to_9(string? value, int expected)
    {
        Environment.SetEnvironmentVariable("FIM_COMPRESSION_LEVEL", value);
        try
        {
            Assert.Equal(expected, LayerWriterOptions.FromEnvironment().CompressionLevel);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FIM_COMPRESSION_LEVEL", null);
        }
    }
}

[CollectionDefinition(nameof(EnvironmentVariableCollection), DisableParallelization = true)]
public sealed class EnvironmentVariableCollection;
