using System.Text;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Tests.Image;

/// <summary>FIM_DIST from the os-release the embedded layers show, recorded when a layer is appended.</summary>
public sealed class ImageDistributionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-dist-").FullName;
    private readonly string _image;

    public ImageDistributionTests()
    {
        // Any ELF executable is a bare launcher: an image whose configuration is the default.
        _image = Path.Combine(_dir, "app.flatimage");
        File.Copy("/bin/true", _image);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void An_image_without_layers_is_the_blueprint()
    {
        Assert.Null(ImageDistribution.Detect(_image));
        Assert.Equal("BLUEPRINT", ConfigStore.Read(_image).Distribution);
    }

    [Fact]
    public void A_debian_layer_makes_the_image_debian_through_the_etc_symlink()
    {
        // Debian's own shape: /etc/os-release -> ../usr/lib/os-release.
        Append(Tree(("usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"), ("etc/os-release", "@../usr/lib/os-release")));
        Assert.Equal("DEBIAN", ConfigStore.Read(_image).Distribution);
    }

    [Fact]
    public void The_top_layer_wins_and_a_whiteout_uncovers_the_fallback_path()
    {
        Append(Tree(("usr/lib/os-release", "ID=debian\n"), ("etc/os-release", "@../usr/lib/os-release")));
        Append(Tree(("etc/os-release", "NAME=Ubuntu\nID=\"ubuntu\"\n")));
        Assert.Equal("UBUNTU", ConfigStore.Read(_image).Distribution);

        // A commit that deleted /etc/os-release: os-release(5) falls back to /usr/lib/os-release.
        var root = NewDirectory();
        var etc = NewDirectory();
        etc.Children.Add(new("os-release"u8.ToArray(), LayerSourceNode.NewWhiteout()));
        root.Children.Add(new("etc"u8.ToArray(), etc));
        Append(root);
        Assert.Equal("DEBIAN", ConfigStore.Read(_image).Distribution);

        // An opaque /usr hides the lower one entirely: nothing is left to say what this is.
        var hidden = NewDirectory();
        var usr = NewDirectory();
        usr.Opaque = true;
        hidden.Children.Add(new("usr"u8.ToArray(), usr));
        Append(hidden);
        Assert.Equal("BLUEPRINT", ConfigStore.Read(_image).Distribution);
    }

    [Fact]
    public void A_layer_without_os_release_leaves_the_blueprint()
    {
        Append(Tree(("bin/sh", "not really a shell")));
        Assert.Equal("BLUEPRINT", ConfigStore.Read(_image).Distribution);
    }

    [Fact]
    public void A_symlink_loop_is_no_distribution()
    {
        Append(Tree(("etc/os-release", "@os-release-2"), ("etc/os-release-2", "@/etc/os-release")));
        Assert.Null(ImageDistribution.Detect(_image));
    }

    [Theory]
    [InlineData("ID=debian\n", "DEBIAN")]
    [InlineData("NAME=x\nID=\"arch\"\nID_LIKE=y\n", "ARCH")]
    [InlineData("ID='opensuse-tumbleweed'", "OPENSUSE-TUMBLEWEED")]
    [InlineData("ID=$(rm -rf /)\n", "RM-RF")]
    [InlineData("ID=\n", null)]
    [InlineData("NAME=none\n", null)]
    [InlineData("ID=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", null)]
    public void Only_distribution_name_characters_survive(string osRelease, string? expected)
    {
        Assert.Equal(expected, ImageDistribution.ParseId(osRelease));
    }

    /// <summary>A layer from (path, content) pairs; content "@target" makes a symlink.</summary>
    private LayerSourceNode Tree(params (string Path, string Content)[] files)
    {
        var root = NewDirectory();
        foreach (var (path, content) in files)
        {
            var parent = root;
            var parts = path.Split('/');
            foreach (string dir in parts[..^1])
            {
                byte[] name = Encoding.UTF8.GetBytes(dir);
                var existing = parent.Children.FirstOrDefault(c => c.Key.SequenceEqual(name)).Value;
                if (existing is null)
                {
                    existing = NewDirectory();
                    parent.Children.Add(new(name, existing));
                }
                parent = existing;
            }
            LayerSourceNode node;
            if (content.StartsWith('@'))
            {
                node = new LayerSourceNode(LayerFileType.Symlink) { Permissions = 0x1FF, SymlinkTarget = Encoding.UTF8.GetBytes(content[1..]) };
            }
            else
            {
                string file = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
                File.WriteAllText(file, content);
                node = new LayerSourceNode(LayerFileType.Regular) { Permissions = 0x1A4, Size = new FileInfo(file).Length, SourcePath = Encoding.UTF8.GetBytes(file) };
            }
            parent.Children.Add(new(Encoding.UTF8.GetBytes(parts[^1]), node));
        }
        return root;
    }

    private static LayerSourceNode NewDirectory() => new(LayerFileType.Directory) { Permissions = 0x1ED };

    private void Append(LayerSourceNode root)
    {
        string layer = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".layer");
        using (var stream = File.Create(layer))
            LayerWriter.WriteTo(root, stream, new LayerWriterOptions());
        LayerAppender.Append(_image, layer);
    }
}
