using System.Text;
using FlatImage.Runtime.Layers;
using Xunit;

namespace FlatImage.Runtime.Tests.Layers;

public sealed class LayerWriterTests
{
    private static readonly LayerWriterOptions SmallBlocks = new() { BlockSize = 64 * 1024, CompressionLevel = 3 };

    [Fact]
    public void Round_trips_a_tree_with_every_file_type()
    {
        using var tree = new TestTree();
        tree.BuildEverything();
        using var output = new TestTree();
        string layer = output.PathOf("everything.layer");
        var progress = new List<LayerProgress>();
        var result = LayerWriter.Create(tree.Root, layer, SmallBlocks, new SynchronousProgress(progress.Add));

        using var reader = LayerReader.Open(layer, 0, -1);
        int compared = LayerTreeAssert.Equal(tree.Root, reader, tree.ExpectedMissing);
        Assert.True(compared > 60, $"only {compared} paths compared");
        Assert.Equal(2, result.DuplicateFiles);
        Assert.Contains(result.SkippedPaths, p => p.EndsWith("/socket"));
        Assert.True(result.BlockCount > 20, $"{result.BlockCount} blocks");
        Assert.Equal(new FileInfo(layer).Length, result.LayerBytes);
        Assert.Equal(result.LayerBytes, reader.Statistics.LayerBytes);
        var last = progress[^1];
        Assert.Equal(last.BytesTotal, last.BytesDone);
        Assert.Equal(last.FilesTotal, last.FilesDone);

        Assert.Equal(0, reader.Lookup(LayerReader.RootInode, "empty-dir"u8, out ulong emptyDir));
        Assert.Equal(0, reader.ReadDirectory(emptyDir, 0, (long _, ReadOnlySpan<byte> _, ulong _, in LayerInode _) => throw new Xunit.Sdk.XunitException("not empty")));
        Assert.Equal(0, reader.Lookup(LayerReader.RootInode, "linked"u8, out ulong linked));
        Assert.True(reader.TryGetInode(linked, out var linkedInode));
        Assert.Equal(3u, linkedInode.Nlink);
        if (TestTree.IsRoot)
        {
            Assert.Equal(0, reader.Lookup(LayerReader.RootInode, "ping"u8, out ulong ping));
            Assert.Equal(0, reader.ListXattr(ping, out var xattrs));
            Assert.Equal(TestTree.NetRawCapability, Assert.Single(xattrs, kv => kv.Key == "security.capability").Value);
        }
    }

    [Fact]
    public void Skips_directories_the_user_cannot_enter()
    {
        using var tree = new TestTree();
        Directory.CreateDirectory(tree.PathOf("open/inside"));
        File.WriteAllText(tree.PathOf("open/inside/file"), "visible");
        Directory.CreateDirectory(tree.PathOf("locked/inside"));
        File.WriteAllText(tree.PathOf("locked/inside/secret"), "hidden");
        File.SetUnixFileMode(tree.PathOf("locked"), UnixFileMode.None);
        using var output = new TestTree();
        File.SetUnixFileMode(output.Root, (UnixFileMode)0x1FF /* 0777 */);
        string layer = output.PathOf("skip.layer");

        LayerWriteResult? result = null;
        // Root enters every directory, so as root the walk runs on a thread whose file-system
        // uid is nobody's: that drops CAP_DAC_OVERRIDE for this thread only.
        var thread = new Thread(() =>
        {
            if (TestTree.IsRoot)
            {
                FlatImage.Native.Interop.Fsuid.setfsgid(65534);
                FlatImage.Native.Interop.Fsuid.setfsuid(65534);
                Assert.Equal(65534, FlatImage.Native.Interop.Fsuid.setfsuid(65534));
            }
            result = LayerWriter.Create(tree.Root, layer, SmallBlocks with { Threads = 1 });
        });
        thread.Start();
        thread.Join();

        Assert.NotNull(result);
        Assert.Contains(tree.PathOf("locked"), result.SkippedPaths);
        using var reader = LayerReader.Open(layer, 0, -1);
        Assert.Equal(2, reader.Lookup(LayerReader.RootInode, "locked"u8, out _));
        Assert.Equal(0, reader.Lookup(LayerReader.RootInode, "open"u8, out _));
    }

    [Fact]
    public void Keeps_the_previous_file_when_a_build_fails()
    {
        using var output = new TestTree();
        string layer = output.PathOf("out.layer");
        File.WriteAllText(layer, "old");
        Assert.ThrowsAny<IOException>(() => LayerWriter.Create(output.PathOf("no-such-dir"), layer, SmallBlocks));
        Assert.Equal("old", File.ReadAllText(layer));
        Assert.Single(Directory.GetFiles(output.Root));
    }

    [Fact]
    public void Stops_when_cancelled_and_leaves_no_temporary_file()
    {
        using var tree = new TestTree();
        tree.BuildEverything();
        using var output = new TestTree();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => LayerWriter.Create(tree.Root, output.PathOf("x.layer"), SmallBlocks, ct: cts.Token));
        Assert.Empty(Directory.GetFiles(output.Root));
    }

    [Fact]
    public void Writes_whiteouts_and_opaque_directories_from_a_source_model()
    {
        var root = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED /* 0755 */ };
        var opaque = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1C0 /* 0700 */, Opaque = true };
        root.Children.Add(new("gone"u8.ToArray(), LayerSourceNode.NewWhiteout()));
        root.Children.Add(new("replaced"u8.ToArray(), opaque));
        using var output = new TestTree();
        string layer = output.PathOf("w.layer");
        using (var stream = File.Create(layer))
            LayerWriter.WriteTo(root, stream, SmallBlocks);
        using var reader = LayerReader.Open(layer, 0, -1);
        Assert.Equal(0, reader.Lookup(LayerReader.RootInode, "gone"u8, out ulong gone));
        Assert.True(reader.TryGetInode(gone, out var whiteout));
        Assert.Equal(LayerFileType.Whiteout, whiteout.Type);
        Assert.Equal(0x2000u, whiteout.Mode);
        Assert.Equal(0ul, whiteout.Rdev);
        Assert.Equal(0, reader.Lookup(LayerReader.RootInode, "replaced"u8, out ulong dir));
        Assert.True(reader.TryGetInode(dir, out var dirInode));
        Assert.True(dirInode.Opaque);
        Assert.Equal(0, reader.Statistics.BlockCount);
    }

    [Fact]
    public void Rejects_names_a_reader_would_refuse()
    {
        foreach (string bad in new[] { "a/b", "..", ".", "" })
        {
            var root = new LayerSourceNode(LayerFileType.Directory);
            root.Children.Add(new(Encoding.UTF8.GetBytes(bad), new LayerSourceNode(LayerFileType.Fifo)));
            Assert.Throws<ArgumentException>(() => LayerWriter.WriteTo(root, new MemoryStream(), SmallBlocks));
        }
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; tests want the reports in order, now.</summary>
    private sealed class SynchronousProgress(Action<LayerProgress> report) : IProgress<LayerProgress>
    {
        public void Report(LayerProgress value) => report(value);
    }
}
