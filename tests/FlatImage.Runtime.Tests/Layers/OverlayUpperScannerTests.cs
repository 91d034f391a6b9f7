using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>The overlay bookkeeping that the kernel overlay, fuse-overlayfs and unionfs-fuse leave in a writable layer, as layer whiteouts and opaque directories.</summary>
public sealed class OverlayUpperScannerTests
{
    [Fact]
    public void Turns_fuse_overlayfs_markers_into_whiteouts_and_opaque_directories()
    {
        if (!TestTree.IsRoot)
            return; // mknod and trusted.* xattrs need root
        using var tree = new TestTree();
        Directory.CreateDirectory(tree.PathOf("bin"));
        RawPathFiles.MakeNode(Bytes(tree.PathOf("bin/ls")), Stat.S_IFCHR, 0);
        File.WriteAllText(tree.PathOf("bin/.wh.cat"), "");
        Directory.CreateDirectory(tree.PathOf("data"));
        RawPathFiles.SetXattr(Bytes(tree.PathOf("data")), "trusted.overlay.opaque"u8, "y"u8);
        RawPathFiles.MakeNode(Bytes(tree.PathOf("data/.wh..opq")), Stat.S_IFCHR, 0);
        File.WriteAllText(tree.PathOf("data/.wh..wh..opq"), "");
        File.WriteAllText(tree.PathOf("data/new"), "x");
        Directory.CreateDirectory(tree.PathOf("user"));
        File.WriteAllText(tree.PathOf("user/.wh..wh..opq"), "");

        var root = OverlayUpperScanner.Scan(tree.Root, 0, 0, [], CancellationToken.None);

        var bin = Child(root, "bin");
        Assert.Equal(LayerFileType.Whiteout, Child(bin, "ls").Type);
        Assert.Equal(LayerFileType.Whiteout, Child(bin, "cat").Type);
        Assert.Equal(["cat", "ls"], Names(bin));
        Assert.False(bin.Opaque);
        var data = Child(root, "data");
        Assert.True(data.Opaque);
        Assert.Equal(["new"], Names(data));
        Assert.Empty(data.Xattrs);
        Assert.True(Child(root, "user").Opaque);
        Assert.Empty(Child(root, "user").Children);
    }

    [Fact]
    public void Records_the_callers_files_as_roots()
    {
        if (!TestTree.IsRoot)
            return; // chown to another user needs root
        using var tree = new TestTree();
        File.WriteAllText(tree.PathOf("mine"), "");
        File.WriteAllText(tree.PathOf("other"), "");
        Chown(tree.PathOf("mine"), "4321:8765");
        Chown(tree.PathOf("other"), "1111:2222");

        var root = OverlayUpperScanner.Scan(tree.Root, 4321, 8765, [], CancellationToken.None);

        Assert.Equal((0u, 0u), (Child(root, "mine").Uid, Child(root, "mine").Gid));
        Assert.Equal((1111u, 2222u), (Child(root, "other").Uid, Child(root, "other").Gid));
    }

    [Fact]
    public void Turns_unionfs_hidden_entries_into_whiteouts_below_lower_directories()
    {
        using var tree = new TestTree();
        Directory.CreateDirectory(tree.PathOf(".unionfs-fuse/bin"));
        File.WriteAllText(tree.PathOf(".unionfs-fuse/bin/ls_HIDDEN~"), "");
        Directory.CreateDirectory(tree.PathOf(".unionfs-fuse/data_HIDDEN~"));
        Directory.CreateDirectory(tree.PathOf(".unionfs-fuse/gone/deeper"));
        File.WriteAllText(tree.PathOf(".unionfs-fuse/gone/deeper/x_HIDDEN~"), "");
        Directory.CreateDirectory(tree.PathOf("data"));
        File.WriteAllText(tree.PathOf("data/new"), "x");
        var lowerBin = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED /* 0755 */, MtimeSeconds = 42 };

        var root = OverlayUpperScanner.Scan(tree.Root, 0, 0, [], CancellationToken.None,
            path => path.Count == 1 && Encoding.UTF8.GetString(path[0]) == "bin" ? lowerBin : null);

        Assert.Equal(["bin", "data"], Names(root));
        Assert.Same(lowerBin, Child(root, "bin"));
        Assert.Equal(LayerFileType.Whiteout, Child(Child(root, "bin"), "ls").Type);
        Assert.True(Child(root, "data").Opaque);
        Assert.Equal(["new"], Names(Child(root, "data")));
    }

    [Fact]
    public void Reads_the_kernel_overlays_user_namespace_format_and_drops_its_bookkeeping()
    {
        using var tree = new TestTree();
        Directory.CreateDirectory(tree.PathOf("etc"));
        RawPathFiles.SetXattr(Bytes(tree.PathOf("etc")), "user.overlay.impure"u8, "y"u8);
        RawPathFiles.SetXattr(Bytes(tree.PathOf("etc")), "user.kept"u8, "mine"u8);
        File.WriteAllText(tree.PathOf("etc/gone"), "");
        RawPathFiles.SetXattr(Bytes(tree.PathOf("etc/gone")), "user.overlay.whiteout"u8, "y"u8);
        File.WriteAllText(tree.PathOf("etc/empty-but-real"), "");
        Directory.CreateDirectory(tree.PathOf("var"));
        RawPathFiles.SetXattr(Bytes(tree.PathOf("var")), "user.overlay.opaque"u8, "y"u8);

        var root = OverlayUpperScanner.Scan(tree.Root, 0, 0, [], CancellationToken.None);

        var etc = Child(root, "etc");
        Assert.False(etc.Opaque);
        Assert.Equal(["user.kept"], etc.Xattrs.Select(x => Encoding.UTF8.GetString(x.Key)));
        Assert.Equal(LayerFileType.Whiteout, Child(etc, "gone").Type);
        Assert.Equal(LayerFileType.Regular, Child(etc, "empty-but-real").Type);
        Assert.True(Child(root, "var").Opaque);
    }

    [Fact]
    public void Keeps_an_opaque_mark_only_over_a_lower_directory_with_something_in_it()
    {
        using var tree = new TestTree();
        foreach (string dir in new[] { "new", "replaced", "replaced/inner" })
        {
            Directory.CreateDirectory(tree.PathOf(dir));
            RawPathFiles.SetXattr(Bytes(tree.PathOf(dir)), "user.fuseoverlayfs.opaque"u8, "y"u8);
        }

        var root = OverlayUpperScanner.Scan(tree.Root, 0, 0, [], CancellationToken.None, null,
            path => string.Join('/', path.Select(Encoding.UTF8.GetString)) == "replaced");

        Assert.False(Child(root, "new").Opaque);
        Assert.True(Child(root, "replaced").Opaque);
        Assert.False(Child(Child(root, "replaced"), "inner").Opaque);
    }

    [Fact]
    public void Refuses_a_metadata_only_copy_whose_content_stays_below()
    {
        using var tree = new TestTree();
        Directory.CreateDirectory(tree.PathOf("bin"));
        File.WriteAllText(tree.PathOf("bin/tool"), "");
        RawPathFiles.SetXattr(Bytes(tree.PathOf("bin/tool")), "user.overlay.metacopy"u8, ""u8);

        var e = Assert.Throws<NotSupportedException>(() => OverlayUpperScanner.Scan(tree.Root, 0, 0, [], CancellationToken.None));
        Assert.StartsWith("'/bin/tool' is a metadata-only copy", e.Message);
    }

    private static void Chown(string path, string owner)
    {
        using var chown = System.Diagnostics.Process.Start("chown", [owner, path])!;
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }

    private static byte[] Bytes(string path) => Encoding.UTF8.GetBytes(path);

    private static LayerSourceNode Child(LayerSourceNode dir, string name) =>
        dir.Children.Single(c => Encoding.UTF8.GetString(c.Key) == name).Value;

    private static List<string> Names(LayerSourceNode dir) =>
        dir.Children.Select(c => Encoding.UTF8.GetString(c.Key)).Order(StringComparer.Ordinal).ToList();
}
