using System.Diagnostics;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Tools;

namespace FlatImage.Runtime.Tests.Tools;

/// <summary>
/// A bundle written by <see cref="ToolsBundle"/> and unpacked by <see cref="ToolsExtractor"/>: the tree,
/// the modes, the loader placeholder of a real dynamic program (made with patchelf, as
/// scripts/collect-tools.sh does) and the stamp that makes later runs read nothing.
/// </summary>
public sealed class ToolsExtractorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-tools-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Unpacks_the_tree_and_the_dynamic_tool_runs_with_the_bundled_loader()
    {
        string image = ImageWithBundle();
        string app = Path.Combine(_dir, "app");

        Assert.True(ToolsExtractor.Ensure(image, app));

        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(app, "bin/hello")));
        Assert.Equal("../bin/hello", new FileInfo(Path.Combine(app, "sbin/hi")).LinkTarget);
        // The setuid bit never survives extraction; the execute bits do.
        Assert.Equal((UnixFileMode)0b111_101_101, File.GetUnixFileMode(Path.Combine(app, "bin/hello")));
        var run = Process.Start(new ProcessStartInfo(Path.Combine(app, "bin/true")) { UseShellExecute = false })!;
        run.WaitForExit();
        Assert.Equal(0, run.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(app, ".tools.tmp")));
    }

    [Fact]
    public void A_later_run_trusts_the_stamp_and_reads_nothing_else()
    {
        string image = ImageWithBundle();
        string app = Path.Combine(_dir, "app");
        Assert.True(ToolsExtractor.Ensure(image, app));
        File.WriteAllText(Path.Combine(app, "bin/hello"), "changed\n");
        Assert.True(ToolsExtractor.Ensure(image, app));
        Assert.Equal("changed\n", File.ReadAllText(Path.Combine(app, "bin/hello")));

        // Another bundle (another checksum) replaces the directories.
        File.WriteAllText(Path.Combine(app, ".tools"), "0000000000000000");
        Assert.True(ToolsExtractor.Ensure(image, app));
        Assert.Equal("hello\n", File.ReadAllText(Path.Combine(app, "bin/hello")));
    }

    [Fact]
    public void An_image_without_tools_extracts_nothing()
    {
        string image = Path.Combine(_dir, "bare");
        File.Copy("/usr/bin/true", image);
        Assert.False(ToolsExtractor.Ensure(image, Path.Combine(_dir, "app")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "app")));
    }

    [Fact]
    public void A_runtime_path_longer_than_the_placeholder_is_a_clear_error()
    {
        string image = ImageWithBundle();
        string app = Path.Combine(_dir, new string('d', 200), new string('e', 200), new string('f', 200), "app");
        var e = Assert.Throws<IOException>(() => ToolsExtractor.Ensure(image, app));
        Assert.Contains("too long for the bundled tools", e.Message);
        Assert.False(File.Exists(Path.Combine(app, ".tools")));
    }

    [Fact]
    public void The_bundle_goes_before_any_layer()
    {
        string image = ImageWithBundle();
        string layer = Path.Combine(_dir, "tree.layer");
        LayerWriter.Create(Path.Combine(_dir, "tree"), layer, new LayerWriterOptions { CompressionLevel = 1 });
        LayerAppender.Append(image, layer);
        var e = Assert.Throws<InvalidImageException>(() => ToolsBundle.Write(image, Path.Combine(_dir, "tree"), new LayerWriterOptions()));
        Assert.Contains("it has layers already", e.Message);
    }

    /// <summary>A stand-in launcher (any ELF executable) with a bundle: text file, symlink, and /usr/bin/true made relocatable.</summary>
    private string ImageWithBundle()
    {
        string tree = Path.Combine(_dir, "tree");
        foreach (string d in new[] { "bin", "lib", "sbin" })
            Directory.CreateDirectory(Path.Combine(tree, d));
        File.WriteAllText(Path.Combine(tree, "bin/hello"), "hello\n");
        File.SetUnixFileMode(Path.Combine(tree, "bin/hello"), (UnixFileMode)0b111_101_101 | UnixFileMode.SetUser);
        File.CreateSymbolicLink(Path.Combine(tree, "sbin/hi"), "../bin/hello");
        File.Copy("/usr/bin/true", Path.Combine(tree, "bin/true"));
        File.Copy("/lib64/ld-linux-x86-64.so.2", Path.Combine(tree, "lib", ToolsExtractor.LoaderName));
        File.Copy("/lib/x86_64-linux-gnu/libc.so.6", Path.Combine(tree, "lib/libc.so.6"));
        string placeholder = "/@FIM_LOADER@".PadRight(511, '_');
        var patch = Process.Start(new ProcessStartInfo("patchelf", ["--force-rpath", "--set-rpath", "$ORIGIN/../lib", "--set-interpreter", placeholder, Path.Combine(tree, "bin/true")]) { UseShellExecute = false })!;
        patch.WaitForExit();
        Assert.Equal(0, patch.ExitCode);

        string image = Path.Combine(_dir, "image");
        File.Copy("/usr/bin/true", image, overwrite: true);
        ToolsBundle.Write(image, tree, new LayerWriterOptions { CompressionLevel = 1 });
        return image;
    }
}
