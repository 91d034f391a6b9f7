using System.Text;
using System.Text.Json;
using FlatImage.Runtime.Config;

namespace FlatImage.Runtime.Tests.Config;

public sealed class ConfigDocumentTests
{
    [Fact]
    public void Round_trips_every_field()
    {
        var config = new ImageConfig
        {
            Distribution = "DEBIAN",
            Permissions = Permissions.Home | Permissions.Portal | Permissions.Gpu,
            Unshare = UnshareOptions.Ipc | UnshareOptions.Pid,
            Overlay = OverlayKind.Unionfs,
            Casefold = true,
            Notify = true,
            Boot = new BootCommand("firefox", ["--no-remote", "-P", "x y"]),
            Environment = ImageConfig.Default.Environment.Add("HOME", "/home/app").Add("A", "$HOME/x"),
            Bindings = ImageConfig.Default.Bindings.Add(0, new BindEntry(BindType.ReadOnly, "$HOME/Music", "/Music"))
                .Add(1, new BindEntry(BindType.Device, "/dev/dri", "/dev/dri")),
            RemoteUrl = "https://example.org/recipes",
        };
        Assert.Equal(config, ConfigDocument.Deserialize(ConfigDocument.Serialize(config)));
    }

    [Fact]
    public void Unknown_names_from_a_newer_launcher_are_dropped()
    {
        var config = ConfigDocument.Deserialize("{\"permissions\":[\"home\",\"teleport\"],\"unshare\":[\"time\",\"ipc\"]}"u8);
        Assert.Equal(Permissions.Home, config.Permissions);
        Assert.Equal(UnshareOptions.Ipc, config.Unshare);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"permissions\":7}")]
    [InlineData("{\"bindings\":{\"x\":{\"type\":\"ro\",\"src\":\"/a\",\"dst\":\"/b\"}}}")]
    [InlineData("{\"bindings\":{\"0\":{\"type\":\"weird\",\"src\":\"/a\",\"dst\":\"/b\"}}}")]
    [InlineData("{\"boot\":")]
    public void Malformed_documents_are_rejected(string json)
    {
        Assert.ThrowsAny<JsonException>(() => ConfigDocument.Deserialize(Encoding.UTF8.GetBytes(json)));
    }
}
