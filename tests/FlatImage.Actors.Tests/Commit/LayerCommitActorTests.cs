using Akka.TestKit.Xunit2;
using FlatImage.Actors.Commit;
using FlatImage.Runtime.Commit;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Layers;
using Xunit.Abstractions;

namespace FlatImage.Actors.Tests.Commit;

/// <summary>
/// The actor commits a writable layer into a managed layer file and answers with the outcome.
/// <c>layer</c> mode never opens the image, so a plain path stands in for it here; the
/// end-to-end tests cover every mode on real images.
/// </summary>
public sealed class LayerCommitActorTests : TestKit, IDisposable
{
    private readonly string _dir;
    private readonly string _image;
    private readonly string _data;

    public LayerCommitActorTests(ITestOutputHelper output) : base("akka.loglevel = WARNING", output)
    {
        _dir = Directory.CreateTempSubdirectory("fim-actor-commit-").FullName;
        _image = Path.Combine(_dir, "app.flatimage");
        _data = Path.Combine(_dir, ".app.flatimage.data");
        Directory.CreateDirectory(Path.Combine(_data, "root", "opt"));
        File.WriteAllText(Path.Combine(_data, "root", "opt", "file"), "committed\n");
    }

    [Fact]
    public void Commits_into_a_managed_layer_and_empties_the_writable_layer()
    {
        var actor = Sys.ActorOf(LayerCommitActor.Props(), "commit");
        actor.Tell(new CommitLayer(_image, CommitMode.Layer, null, new LayerWriterOptions(), null), TestActor);
        var result = ExpectMsg<CommitLayerResult>(TimeSpan.FromSeconds(30));

        string layer = Path.Combine(_data, "layers", "layer-000.layer");
        Assert.Equal(new CommitLayerResult(true, layer, null), result);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_data, "root")));
        using var reader = LayerReader.Open(layer, 0, new FileInfo(layer).Length);
        Assert.Equal(0, reader.Lookup(LayerReader.RootInode, "opt"u8, out ulong opt));
        Assert.Equal(0, reader.Lookup(opt, "file"u8, out _));
    }

    [Fact]
    public void Refuses_while_a_run_holds_the_data_directory()
    {
        using var run = DataDirectoryLock.AcquireShared(_data);
        var actor = Sys.ActorOf(LayerCommitActor.Props(), "commit");
        actor.Tell(new CommitLayer(_image, CommitMode.Layer, null, new LayerWriterOptions(), null), TestActor);
        var result = ExpectMsg<CommitLayerResult>(TimeSpan.FromSeconds(30));

        Assert.Equal(new CommitLayerResult(false, null, $"Another instance is running on {_data}"), result);
        Assert.True(File.Exists(Path.Combine(_data, "root", "opt", "file")));
        Assert.False(Directory.Exists(Path.Combine(_data, "layers")));
    }

    void IDisposable.Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }
}
