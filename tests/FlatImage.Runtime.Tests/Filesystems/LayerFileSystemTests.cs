using System.Diagnostics;
using System.Text;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Tests.Layers;

namespace FlatImage.Runtime.Tests.Filesystems;

/// <summary>
/// A layer served through a real root FUSE mount (mount(2)) and read with ordinary tools. These
/// tests need root: they mount.
/// </summary>
// Mounts with mount(2): excluded from scripts/unit-tests.sh (docs/contributing.md).
[Trait("Category", "NeedsRoot")]
[Collection("fuse")]
public sealed class LayerFileSystemTests : IDisposable
{
    private readonly List<string> _cleanup = [];

    [Fact]
    public void Serves_every_path_as_the_source_tree_has_it()
    {
        using var tree = new TestTree();
        tree.BuildEverything();
        string layer = NewLayerFile(tree.Root);
        using var mounted = new Mounted(layer);
        var expected = TreeManifest.Of(tree.Root).Where(l => !l.StartsWith("socket\t")).ToList();
        Assert.True(expected.Count(l => l.Contains('\t')) > 60, "the manifest lists too few entries");
        Assert.Contains(expected, l => l.StartsWith("./ping") || l.Contains("security.capability"));
        TreeManifest.Equal(expected, TreeManifest.Of(mounted.Directory));
        // The dot entries are listed as passthrough_ll lists them.
        var ls = Run("ls", "-a", mounted.Directory).Split('\n');
        Assert.Equal([".", ".."], ls.Take(2));
        Assert.Equal(Run("stat", "-c", "%i", Path.Combine(mounted.Directory, "dir")).Trim(),
            Run("bash", "-c", $"ls -ai {mounted.Directory}/dir/sub | awk '$2==\"..\" {{print $1}}'").Trim());
        var df = Run("stat", "-f", "-c", "%b %S %c %l", mounted.Directory).Split(' ');
        Assert.Equal(mounted.Reader.Statistics.Inodes.ToString(), df[2]);
        Assert.Equal("255", df[3].Trim());
    }

    [Fact]
    public void Presents_every_file_as_owned_by_the_given_user_when_asked()
    {
        using var tree = new TestTree();
        tree.BuildEverything();
        string layer = NewLayerFile(tree.Root);
        using var mounted = new Mounted(layer, LayerFileSystemOptions.PresentOwner(4242, 4343));
        var expected = TreeManifest.WithOwner(TreeManifest.Of(tree.Root).Where(l => !l.StartsWith("socket\t")).ToList(), "4242:4343");
        TreeManifest.Equal(expected, TreeManifest.Of(mounted.Directory));
    }

    [Fact]
    public void Whiteouts_are_char_devices_0_0_and_opaque_directories_carry_the_overlay_markers()
    {
        string layer = NewLayerFile(UpperTree());
        using var mounted = new Mounted(layer);
        Assert.Equal("character special file 0:0 0", Run("stat", "-c", "%F %t:%T %a", Path.Combine(mounted.Directory, "gone")).Trim());
        foreach (var name in new[] { "trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque" })
            Assert.Equal("y", Run("getfattr", "--only-values", "-n", name, Path.Combine(mounted.Directory, "dir")));
        Assert.Contains("user.note", Run("getfattr", "-d", "-m", "-", Path.Combine(mounted.Directory, "dir")));
        Assert.NotEqual(0, Tool("getfattr", "-n", "user.overlay.opaque", Path.Combine(mounted.Directory, "kept")).ExitCode);
    }

    [Fact]
    public void Fuse_overlayfs_stacks_two_layer_mounts_with_whiteouts_and_opaque_directories()
    {
        var lower = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED };
        AddFile(lower, "gone", "lower file\n");
        AddFile(lower, "kept", "lower kept\n");
        var ldir = AddDir(lower, "dir");
        AddFile(ldir, "hidden", "hidden by opacity\n");
        using var lowerMount = new Mounted(NewLayerFile(lower));
        using var upperMount = new Mounted(NewLayerFile(UpperTree()));

        string merged = Directory.CreateTempSubdirectory("fim-merged-").FullName;
        _cleanup.Add(merged);
        var r = Tool("fuse-overlayfs", "-o", $"lowerdir={upperMount.Directory}:{lowerMount.Directory}", merged);
        Assert.True(r.ExitCode == 0, r.Stderr);
        try
        {
            Assert.Equal("lower kept\n", File.ReadAllText(Path.Combine(merged, "kept")));
            Assert.False(File.Exists(Path.Combine(merged, "gone")), "the whiteout did not hide the lower file");
            Assert.Equal(["visible"], Directory.GetFileSystemEntries(Path.Combine(merged, "dir")).Select(Path.GetFileName));
        }
        finally
        {
            Tool("fusermount3", "-u", merged);
        }
    }

    [Fact]
    public void A_directory_larger_than_one_reply_is_listed_whole_across_readdir_calls()
    {
        var root = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED };
        var big = AddDir(root, "big");
        var names = Enumerable.Range(0, 3000).Select(i => $"entry-{i:D5}-{new string('x', 40)}").ToList();
        string empty = Path.Combine(Path.GetTempPath(), "fim-empty-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(empty, []);
        _cleanup.Add(empty);
        foreach (var name in names)
            big.Children.Add(new(Encoding.UTF8.GetBytes(name), new LayerSourceNode(LayerFileType.Regular)
            {
                Permissions = 0x1A4,
                SourcePath = Encoding.UTF8.GetBytes(empty),
            }));
        using var mounted = new Mounted(NewLayerFile(root));
        var listed = Run("ls", "-a", "-f", Path.Combine(mounted.Directory, "big")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([".", "..", .. names], listed);
        // readdir without stat (plain READDIR or READDIRPLUS) and with stat give the same names.
        Assert.Equal(names, Directory.GetFiles(Path.Combine(mounted.Directory, "big")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(3000, Run("find", Path.Combine(mounted.Directory, "big"), "-type", "f", "-size", "0").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void Parallel_readers_get_the_same_bytes_as_the_layer()
    {
        using var tree = new TestTree();
        tree.BuildEverything();
        using var mounted = new Mounted(NewLayerFile(tree.Root));
        var files = new[] { "dir/big.bin", "dup1.txt", "dir/dup2.txt", "hello.txt" };
        Parallel.For(0, 16, i =>
        {
            string rel = files[i % files.Length];
            Assert.Equal(File.ReadAllBytes(Path.Combine(tree.Root, rel)), File.ReadAllBytes(Path.Combine(mounted.Directory, rel)));
        });
    }

    /// <summary>An upper layer: a whiteout for "gone", an opaque "dir" holding "visible", and "kept" untouched.</summary>
    private LayerSourceNode UpperTree()
    {
        var root = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED };
        var gone = LayerSourceNode.NewWhiteout();
        root.Children.Add(new("gone"u8.ToArray(), gone));
        var dir = AddDir(root, "dir");
        dir.Opaque = true;
        dir.Xattrs.Add(new("user.note"u8.ToArray(), "recorded"u8.ToArray()));
        AddFile(dir, "visible", "upper\n");
        return root;
    }

    private static LayerSourceNode AddDir(LayerSourceNode parent, string name)
    {
        var d = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED, MtimeSeconds = 1_600_000_000 };
        parent.Children.Add(new(Encoding.UTF8.GetBytes(name), d));
        return d;
    }

    private void AddFile(LayerSourceNode parent, string name, string content)
    {
        string source = Path.Combine(Path.GetTempPath(), "fim-src-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(source, content);
        _cleanup.Add(source);
        var f = new LayerSourceNode(LayerFileType.Regular)
        {
            Permissions = 0x1A4,
            Size = content.Length,
            SourcePath = Encoding.UTF8.GetBytes(source),
            MtimeSeconds = 1_600_000_000,
        };
        parent.Children.Add(new(Encoding.UTF8.GetBytes(name), f));
    }

    private string NewLayerFile(string sourceDir)
    {
        string file = Path.Combine(Path.GetTempPath(), "fim-fs-" + Guid.NewGuid().ToString("N") + ".layer");
        _cleanup.Add(file);
        LayerWriter.Create(sourceDir, file, new LayerWriterOptions { BlockSize = 64 * 1024 });
        return file;
    }

    private string NewLayerFile(LayerSourceNode root)
    {
        string file = Path.Combine(Path.GetTempPath(), "fim-fs-" + Guid.NewGuid().ToString("N") + ".layer");
        _cleanup.Add(file);
        using (var stream = File.Create(file))
            LayerWriter.WriteTo(root, stream, new LayerWriterOptions());
        return file;
    }

    private static string Run(string file, params string[] args)
    {
        var r = Tool(file, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout;
    }

    private static (int ExitCode, string Stdout, string Stderr) Tool(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var e = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o, e.Result);
    }

    public void Dispose()
    {
        foreach (var path in _cleanup)
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else File.Delete(path);
        }
    }

    /// <summary>A layer file served at a fresh mount point, torn down in the owner's order.</summary>
    private sealed class Mounted : IDisposable
    {
        private readonly FuseMount _mount;
        private readonly FuseSession _session;

        public Mounted(string layerFile, LayerFileSystemOptions? options = null)
        {
            Reader = LayerReader.Open(layerFile, 0, -1);
            Directory = System.IO.Directory.CreateTempSubdirectory("fim-layerfs-").FullName;
            _mount = FuseMount.Mount(new FuseMountOptions(Directory) { FsName = "fimtest", Subtype = "fimtest" });
            _session = new FuseSession(_mount.Device, new LayerFileSystem(Reader, options), new FuseSessionOptions { Name = "fimtest", Workers = 2 });
            _session.Start();
            if (!_session.WaitForInit(TimeSpan.FromSeconds(10))) throw new TimeoutException("FUSE_INIT");
        }

        public string Directory { get; }
        public LayerReader Reader { get; }

        public void Dispose()
        {
            _mount.Unmount();
            _session.Dispose();
            _mount.Dispose();
            Reader.Dispose();
            System.IO.Directory.Delete(Directory);
        }
    }
}
