using FlatImage.Runtime.Config;

namespace FlatImage.Runtime.Tests.Config;

public sealed class VariableExpanderTests
{
    [Theory]
    [InlineData("A=hello world", "A=hello")]
    [InlineData("A=\"hello world\"", "A=hello world")]
    [InlineData("A=$((6*7))", "A=42")]
    [InlineData("A=$(echo sub)", "A=sub")]
    [InlineData("A=`echo back`", "A=back")]
    [InlineData("A=$FIM_TEST_SURELY_UNSET_VARIABLE", "A=")]
    [InlineData("A='unbalanced", "A='unbalanced")]
    [InlineData("A=x|y", "A=x|y")]
    [InlineData("A=x;y", "A=x;y")]
    [InlineData("", "")]
    public void Expands_like_the_shell_keeping_the_first_field(string text, string expected)
    {
        Assert.Equal(expected, VariableExpander.Expand(text));
    }

    [Fact]
    public void Sees_the_processes_environment()
    {
        string home = Environment.GetEnvironmentVariable("HOME")!;
        Assert.Equal($"A={home}/x", VariableExpander.Expand("A=$HOME/x"));
        Assert.Equal($"{home}/y", VariableExpander.Expand("~/y"));
    }
}
