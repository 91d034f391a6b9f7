using System.Text;
using System.Text.Json;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Desktop;

namespace FlatImage.Runtime.Tests.Desktop;

public sealed class DesktopConfigTests
{
    [Fact]
    public void The_integration_and_its_icon_bytes_survive_the_configuration_region()
    {
        var desktop = new DesktopIntegration("App", ["Network", "Utility"], DesktopItems.Entry | DesktopItems.Icon, DesktopIconType.Svg, [.. "<svg/>"u8.ToArray()]);
        var config = ImageConfig.Default with { Desktop = desktop, Notify = true };
        var read = ConfigDocument.Deserialize(ConfigDocument.Serialize(config));
        Assert.Equal(config, read);
        Assert.Equal("<svg/>", Encoding.UTF8.GetString(read.Desktop!.Icon.AsSpan()));
    }

    [Theory]
    [InlineData("../../.bashrc")]
    [InlineData("a\nExec=evil")]
    [InlineData("")]
    public void A_hostile_stored_name_is_refused(string name)
    {
        string json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["desktop"] = new Dictionary<string, object> { ["name"] = name, ["categories"] = Array.Empty<string>(), ["icon_type"] = "svg", ["icon"] = "PHN2Zy8+" },
        });
        Assert.Throws<JsonException>(() => ConfigDocument.Deserialize(Encoding.UTF8.GetBytes(json)));
    }
}
