using System.Text;
using FlatImage.Runtime.Tools;

namespace FlatImage.Runtime.Tests.Tools;

/// <summary>The tools list of a bundle comes from the image, which anyone may have made: only well-formed lines are believed.</summary>
public sealed class ToolsManifestTests
{
    private const string Sha = "9760d007363e3abba7c747489910f9f82d9fca53ba3bd3282e396fa3c97a3314";

    [Fact]
    public void Reads_one_tool_per_line()
    {
        var tools = ToolsManifest.Parse(Encoding.UTF8.GetBytes(
            $"bubblewrap\t0.12.0\tLGPL-2.0-or-later\thttps://github.com/containers/bubblewrap\t{Sha}\nbash\t5.2\tGPL-3.0-or-later\thttps://x\t{Sha}\n"));
        Assert.Equal(
            [new BundledTool("bubblewrap", "0.12.0", "LGPL-2.0-or-later", "https://github.com/containers/bubblewrap", Sha), new BundledTool("bash", "5.2", "GPL-3.0-or-later", "https://x", Sha)],
            tools);
    }

    [Theory]
    [InlineData("bash\t5.2\tGPL\thttps://x\n")]                                   // a field missing
    [InlineData("bash\t5.2\tGPL\thttps://x\tnot-a-sha256-at-all\n")]             // not a checksum
    [InlineData("bash\t5.2\tGPL\thttps://x\t" + Sha + "\textra\n")]               // a field too many
    [InlineData("ba\u001bsh\t5.2\tGPL\thttps://x\t" + Sha + "\n")]                // a terminal escape
    [InlineData("bash\t\tGPL\thttps://x\t" + Sha + "\n")]                         // an empty field
    public void Refuses_a_malformed_line(string content) =>
        Assert.Null(ToolsManifest.Parse(Encoding.UTF8.GetBytes(content)));

    [Fact]
    public void Refuses_bytes_that_are_not_utf8() =>
        Assert.Null(ToolsManifest.Parse([0x62, 0xff, 0x09]));
}
