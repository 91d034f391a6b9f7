using System.Diagnostics;
using System.Text;
using FlatImage.Native.Fuse;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Tests.Filesystems;

/// <summary>
/// Stacks of layers served as one tree through a real root FUSE mount (mount(2)) and read with
/// ordinary tools. The reference for the overlay rules is the kernel's own overlayfs, stacking
/// the same layers mounted one by one as stored (whiteouts as char 0/0, opacity as
/// trusted.overlay.opaque). These tests need root: they mount.
/// </summary>
[Collection("fuse")]
public sealed class MergedFileSystemTests : IDisposable
{
    private readonly List<string> _cleanup = [];

    [Fact]
    public void Whiteouts_hide_the_lower_entries_and_are_never_shown()
    {
        var lower = Dir();
        AddFile(lower, "gone", "lower\n");
        AddFile(lower, "kept", "kept\n");
        var ldir = AddDir(lower, "dir");
        AddFile(ldir, "x", "x\n");
        AddFile(ldir, "y", "y\n");
        var upper = Dir();
        upper.Children.Add(new("gone"u8.ToArray(), LayerSourceNode.NewWhiteout()));
        var udir = AddDir(upper, "dir");
        udir.Children.Add(new("x"u8.ToArray(), LayerSourceNode.NewWhiteout()));
        // A whiteout with nothing below it hides nothing and is not shown either.
        udir.Children.Add(new("never"u8.ToArray(), LayerSourceNode.NewWhiteout()));

        using var merged = Mount(lower, upper);
        Assert.Equal(["dir", "kept"], Names(merged.Directory));
        Assert.Equal(["y"], Names(Path.Combine(merged.Directory, "dir")));
        Assert.False(File.Exists(Path.Combine(merged.Directory, "gone")));
        Assert.False(File.Exists(Path.Combine(merged.Directory, "dir", "x")));
        Assert.Equal("kept\n", File.ReadAllText(Path.Combine(merged.Directory, "kept")));
        Assert.Equal("", Run("find", merged.Directory, "-type", "c"));
    }

    [Fact]
    public void An_opaque_directory_hides_the_layers_below_and_shows_no_overlay_marker()
    {
        var lower = Dir();
        var ldir = AddDir(lower, "dir");
        AddFile(ldir, "hidden", "lower\n");
        var deeper = AddDir(ldir, "sub");
        AddFile(deeper, "hidden-too", "lower\n");
        var upper = Dir();
        var udir = AddDir(upper, "dir");
        udir.Opaque = true;
        udir.Xattrs.Add(new("user.note"u8.ToArray(), "recorded"u8.ToArray()));
        AddFile(udir, "visible", "upper\n");

        using var merged = Mount(lower, upper);
        string dir = Path.Combine(merged.Directory, "dir");
        Assert.Equal(["visible"], Names(dir));
        Assert.False(Directory.Exists(Path.Combine(dir, "sub")));
        string xattrs = Run("getfattr", "-d", "-m", "-", dir);
        Assert.Contains("user.note=\"recorded\"", xattrs);
        Assert.DoesNotContain("overlay", xattrs);
        Assert.NotEqual(0, Tool("getfattr", "-n", "trusted.overlay.opaque", dir).ExitCode);
    }

    [Fact]
    public void A_file_replaced_by_a_directory_and_a_directory_replaced_by_a_file()
    {
        var bottom = Dir();
        AddFile(bottom, "f", "a file at the bottom\n");
        var d = AddDir(bottom, "d");
        AddFile(d, "from-bottom", "bottom\n");
        var m = AddDir(bottom, "m");
        AddFile(m, "under-a-file", "bottom\n");

        var middle = Dir();
        var f = AddDir(middle, "f");
        AddFile(f, "now-a-dir", "middle\n");
        AddFile(middle, "d", "now a file\n");
        AddFile(middle, "m", "a file between two directories\n");

        var top = Dir();
        var mTop = AddDir(top, "m");
        AddFile(mTop, "from-top", "top\n");

        using var merged = Mount(bottom, middle, top);
        Assert.Equal(["now-a-dir"], Names(Path.Combine(merged.Directory, "f")));
        Assert.Equal("now a file\n", File.ReadAllText(Path.Combine(merged.Directory, "d")));
        // The middle file ends the merge: the bottom directory under it stays hidden.
        Assert.Equal(["from-top"], Names(Path.Combine(merged.Directory, "m")));
        Assert.Equal("directory", Run("stat", "-c", "%F", Path.Combine(merged.Directory, "f")).Trim());
        Assert.Equal("regular file", Run("stat", "-c", "%F", Path.Combine(merged.Directory, "d")).Trim());
    }

    [Fact]
    public void Hard_links_share_one_inode_and_inode_numbers_are_stable_across_mounts()
    {
        var lower = Dir();
        var shared = NewFile("one inode, two names\n");
        lower.Children.Add(new("a"u8.ToArray(), shared));
        AddDir(lower, "dir").Children.Add(new("b"u8.ToArray(), shared));
        lower.Children.Add(new("c"u8.ToArray(), shared));
        AddFile(lower, "lower-only", "lower\n");
        var upper = Dir();
        upper.Children.Add(new("c"u8.ToArray(), LayerSourceNode.NewWhiteout()));
        AddFile(upper, "upper-only", "upper\n");

        string lowerFile = LayerFile(lower), upperFile = LayerFile(upper);
        string first, second;
        using (var merged = Mount(lowerFile, upperFile))
        {
            Assert.False(File.Exists(Path.Combine(merged.Directory, "c")));
            string a = Inode(merged.Directory, "a"), b = Inode(merged.Directory, "dir/b");
            Assert.Equal(a, b);
            Assert.NotEqual(Inode(merged.Directory, "lower-only"), Inode(merged.Directory, "upper-only"));
            Assert.Equal("1", Inode(merged.Directory, "."));
            first = Run("bash", "-c", $"cd {merged.Directory} && find . -printf '%p %i\\n' | LC_ALL=C sort");
        }
        using (var merged = Mount(lowerFile, upperFile))
            second = Run("bash", "-c", $"cd {merged.Directory} && find . -printf '%p %i\\n' | LC_ALL=C sort");
        Assert.Equal(first, second);
        // Every path has its own number, except the two names of one file.
        var numbers = first.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[1]).ToList();
        Assert.Equal(numbers.Count - 1, numbers.Distinct().Count());
    }

    [Fact]
    public void Many_layers_merge_one_directory_and_a_listing_larger_than_one_reply_is_whole()
    {
        const int Layers = 40;
        var stack = new List<LayerSourceNode>();
        var expected = new SortedSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Layers; i++)
        {
            var root = Dir();
            var dir = AddDir(root, "dir");
            for (int k = 0; k < 100; k++)
            {
                string name = $"layer-{i:D2}-{k:D3}-{new string('n', 30)}";
                AddFile(dir, name, "");
                expected.Add(name);
            }
            AddFile(root, "same", $"from layer {i}\n");
            if (i > 0)
            {
                // Each layer deletes one name of the layer below it.
                string gone = $"layer-{i - 1:D2}-000-{new string('n', 30)}";
                dir.Children.Add(new(Encoding.UTF8.GetBytes(gone), LayerSourceNode.NewWhiteout()));
                expected.Remove(gone);
            }
            stack.Add(root);
        }
        using var merged = Mount([.. stack]);
        string path = Path.Combine(merged.Directory, "dir");
        // ls -f lists through READDIR without stat; find and Directory.GetFiles through READDIRPLUS.
        var listed = Run("ls", "-a", "-f", path).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([".", "..", .. expected], listed);
        Assert.Equal(expected, Directory.GetFiles(path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(expected.Count, Run("find", path, "-type", "f", "-size", "0").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal($"from layer {Layers - 1}\n", File.ReadAllText(Path.Combine(merged.Directory, "same")));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(22)]
    [InlineData(33)]
    public void Random_stacks_look_as_the_kernel_overlay_of_the_same_layers(int seed)
    {
        var random = new Random(seed);
        var layers = Enumerable.Range(0, 6).Select(_ => RandomTree(random, depth: 0)).Select(LayerFile).ToList();
        using var merged = Mount(layers.ToArray());
        var raw = layers.Select(l => new RawMount(l)).ToList();
        string reference = Directory.CreateTempSubdirectory("fim-ovl-ref-").FullName;
        _cleanup.Add(reference);
        try
        {
            string lowerdir = string.Join(':', raw.Select(r => r.Directory).Reverse());
            var mount = Tool("mount", "-t", "overlay", "overlay", "-o", $"lowerdir={lowerdir}", reference);
            Assert.True(mount.ExitCode == 0, mount.Stderr);
            try
            {
                var expected = WithoutXattrsAndInodes(TreeManifest.Of(reference));
                var actual = TreeManifest.Of(merged.Directory);
                Assert.True(expected.Count(l => l.Contains('\t')) > 10, string.Join('\n', expected));
                TreeManifest.Equal(expected, WithoutXattrsAndInodes(actual));
                // The layers carry no xattrs but the opacity markers, which the merged view never shows.
                Assert.Equal("## xattrs", actual[^1]);
            }
            finally
            {
                Tool("umount", reference);
            }
        }
        finally
        {
            raw.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public void A_read_that_meets_a_corrupt_block_fails_with_EIO_and_so_does_an_open_that_checks()
    {
        string layer = CorruptNoiseLayer(out var noise);
        foreach (bool verify in new[] { false, true })
        {
            using var merged = Mount([layer], new LayerFileSystemOptions { VerifyOnOpen = verify });
            string file = Path.Combine(merged.Directory, "noise.bin");
            // The good blocks first, so that the page cache holds them when the whole file is read;
            // a checking open refuses the file at once.
            if (verify)
                Assert.Contains("Input/output error", Tool("head", "-c", "65536", file).Stderr);
            else
                Assert.Equal(noise.AsSpan(0, 65536).ToArray(), Head(file, 65536));
            var cat = Tool("cat", file);
            Assert.NotEqual(0, cat.ExitCode);
            Assert.Contains("Input/output error", cat.Stderr);
            var dd = Tool("dd", $"if={file}", "of=/dev/null", "bs=4096", "skip=33", "count=1");
            Assert.NotEqual(0, dd.ExitCode);
        }
    }

    [Fact]
    public void Through_the_kernel_overlay_a_corrupt_block_is_EIO_and_is_never_copied_up()
    {
        string layer = CorruptNoiseLayer(out var noise);
        using var merged = Mount([layer], null);
        string scratch = Directory.CreateTempSubdirectory("fim-kovl-").FullName;
        _cleanup.Add(scratch);
        string upper = Directory.CreateDirectory(Path.Combine(scratch, "upper")).FullName;
        string work = Directory.CreateDirectory(Path.Combine(scratch, "work")).FullName;
        string root = Directory.CreateDirectory(Path.Combine(scratch, "root")).FullName;
        var mount = Tool("mount", "-t", "overlay", "overlay", "-o", $"lowerdir={merged.Directory},upperdir={upper},workdir={work}", root);
        Assert.True(mount.ExitCode == 0, mount.Stderr);
        try
        {
            string file = Path.Combine(root, "noise.bin");
            Assert.Equal(noise.AsSpan(0, 65536).ToArray(), Head(file, 65536));
            var cat = Tool("cat", file);
            Assert.NotEqual(0, cat.ExitCode);
            Assert.Contains("Input/output error", cat.Stderr);
            // chmod copies the file up: the copy must fail, not store zeros in the writable layer.
            Assert.NotEqual(0, Tool("chmod", "600", file).ExitCode);
            Assert.False(File.Exists(Path.Combine(upper, "noise.bin")));
        }
        finally
        {
            Tool("umount", root);
        }
    }

    /// <summary>
    /// A FUSE overlay daemon whose read spans readable pages and the damage gets the readable
    /// pages as a short read and passes that on; fuse-overlayfs' kernel client then fills the rest
    /// with zeros, unionfs-fuse's takes it as the end of the file, both with exit status 0
    /// (checked: without VerifyOnOpen this test fails for both; with FOPEN_DIRECT_IO instead,
    /// fuse-overlayfs still fails it, because it splices, and splice reads through the page cache).
    /// With the blocks checked at open, the daemon's open fails and the program gets EIO.
    /// </summary>
    [Theory]
    [InlineData("fuse-overlayfs")]
    [InlineData("unionfs")]
    public void Through_a_FUSE_overlay_daemon_a_corrupt_block_is_EIO(string daemon)
    {
        string layer = CorruptNoiseLayer(out _);
        using var merged = Mount([layer], new LayerFileSystemOptions { VerifyOnOpen = true });
        string scratch = Directory.CreateTempSubdirectory("fim-daemon-").FullName;
        _cleanup.Add(scratch);
        string upper = Directory.CreateDirectory(Path.Combine(scratch, "upper")).FullName;
        string work = Directory.CreateDirectory(Path.Combine(scratch, "work")).FullName;
        string root = Directory.CreateDirectory(Path.Combine(scratch, "root")).FullName;
        var mount = daemon == "unionfs"
            ? Tool("unionfs", "-o", "cow", $"{upper}=RW:{merged.Directory}=RO", root)
            : Tool("fuse-overlayfs", "-o", $"lowerdir={merged.Directory},upperdir={upper},workdir={work}", root);
        Assert.True(mount.ExitCode == 0, mount.Stderr);
        try
        {
            string file = Path.Combine(root, "noise.bin");
            // The second block (the one before the damage) read straight from the merged mount, then
            // 16 KiB across the damage through the daemon: 8 KiB before it, 8 KiB in it.
            Tool("dd", $"if={Path.Combine(merged.Directory, "noise.bin")}", "of=/dev/null", "bs=4096", "skip=16", "count=16");
            var across = Tool("dd", $"if={file}", "of=/dev/null", "bs=4096", "skip=30", "count=4");
            Assert.True(across.ExitCode != 0, across.Stderr);
            Assert.Contains("Input/output error", across.Stderr);
            var cat = Tool("cat", file);
            Assert.NotEqual(0, cat.ExitCode);
            Assert.Contains("Input/output error", cat.Stderr);
        }
        finally
        {
            Tool("fusermount3", "-u", root);
        }
    }

    [Fact]
    public void A_damaged_layer_fails_the_mount_and_names_its_place_in_the_stack()
    {
        var good = Dir();
        AddFile(good, "a", "a\n");
        string first = LayerFile(good), second = LayerFile(good), third = LayerFile(good);
        byte[] bytes = File.ReadAllBytes(second);
        LayerHeader.TryRead(bytes, out var header);
        bytes[header.MetadataOffset + 3] ^= 0x40;
        File.WriteAllBytes(second, bytes);
        string mountpoint = Directory.CreateTempSubdirectory("fim-merged-bad-").FullName;
        _cleanup.Add(mountpoint);
        var options = new LayerMountOptions([new LayerLocation(first, 0, -1), new LayerLocation(second, 0, -1), new LayerLocation(third, 0, -1)], mountpoint);
        var e = Assert.Throws<InvalidLayerException>(() => LayerMount.Start(options));
        Assert.Equal(1, e.Index);
        Assert.Equal($"Invalid layer 1 '{second}': metadata checksum mismatch", e.Message);
        Assert.DoesNotContain(mountpoint, File.ReadAllText("/proc/self/mountinfo"));
    }

    [Fact]
    public void The_mount_takes_over_the_readers_planning_opened_and_opens_only_the_rest()
    {
        var lower = Dir();
        AddFile(lower, "etc-passwd", "root:x:0:0::/root:/bin/sh\n");
        var upper = Dir();
        AddFile(upper, "app", "app\n");
        LayerLocation[] layers = [new(LayerFile(lower), 0, -1), new(LayerFile(upper), 0, -1)];
        using var opened = new LayerReaderSet(layers, new LayerReaderOptions());
        // What planning does: read a file of the stack through the set (here only the lower layer has it).
        using (var files = new LayerStackFiles(opened))
            Assert.Equal("root:x:0:0::/root:/bin/sh\n", Encoding.UTF8.GetString(files.Read("/etc-passwd", 4096)!));
        var planned = opened.Get(0);
        using (var mount = MountTakingOver(layers, opened))
        {
            Assert.Same(planned, mount.Readers[0]);
            Assert.Null(opened.Take(0));
            Assert.Equal("app\n", File.ReadAllText(Path.Combine(mount.Mountpoint, "app")));
            Assert.Equal("root:x:0:0::/root:/bin/sh\n", File.ReadAllText(Path.Combine(mount.Mountpoint, "etc-passwd")));
        }
        // The set no longer owns the reader the mount closed; disposing it closes nothing twice.
        opened.Dispose();
        Assert.Throws<ObjectDisposedException>(() => opened.Get(1));
    }

    [Fact]
    public void Readers_opened_with_other_options_are_not_taken_over()
    {
        var root = Dir();
        AddFile(root, "a", "a\n");
        LayerLocation[] layers = [new(LayerFile(root), 0, -1)];
        using var opened = new LayerReaderSet(layers, new LayerReaderOptions { CacheBytes = 1 });
        var planned = opened.Get(0);
        using (var mount = MountTakingOver(layers, opened))
        {
            Assert.NotSame(planned, mount.Readers[0]);
            Assert.Equal("a\n", File.ReadAllText(Path.Combine(mount.Mountpoint, "a")));
        }
        Assert.Same(planned, opened.Take(0));
        planned.Dispose();
    }

    /// <summary>A merged mount of <paramref name="layers"/> at a fresh mount point, given the readers of <paramref name="opened"/>.</summary>
    private LayerMount MountTakingOver(LayerLocation[] layers, LayerReaderSet opened)
    {
        string mountpoint = Directory.CreateTempSubdirectory("fim-merged-taken-").FullName;
        _cleanup.Add(mountpoint);
        return LayerMount.Start(new LayerMountOptions(layers, mountpoint) { OpenedReaders = opened });
    }

    /// <summary>A layer holding noise.bin: four 64 KiB blocks of noise (stored raw), the third one damaged.</summary>
    private string CorruptNoiseLayer(out byte[] noise)
    {
        string src = Directory.CreateTempSubdirectory("fim-merged-src-").FullName;
        _cleanup.Add(src);
        noise = new byte[4 * 65536];
        new Random(5).NextBytes(noise);
        File.WriteAllBytes(Path.Combine(src, "noise.bin"), noise);
        string layer = Path.Combine(Path.GetTempPath(), "fim-merged-" + Guid.NewGuid().ToString("N") + ".layer");
        _cleanup.Add(layer);
        LayerWriter.Create(src, layer, new LayerWriterOptions { BlockSize = 64 * 1024 });
        byte[] bytes = File.ReadAllBytes(layer);
        int at = bytes.AsSpan().IndexOf(noise.AsSpan(2 * 65536 + 1000, 64));
        Assert.True(at > 0, "the noise is stored as it is");
        bytes[at] ^= 0xFF;
        File.WriteAllBytes(layer, bytes);
        return layer;
    }

    /// <summary>A random tree over a few names, so that layers collide: files, directories (some opaque), whiteouts, symlinks.</summary>
    private LayerSourceNode RandomTree(Random random, int depth)
    {
        var dir = Dir();
        foreach (string name in new[] { "a", "b", "c", "d", "e" })
        {
            int roll = random.Next(100);
            var key = Encoding.UTF8.GetBytes(name);
            if (roll < 30) continue;
            if (roll < 50) dir.Children.Add(new(key, NewFile($"{name} {random.Next(1000)}\n")));
            else if (roll < 80 && depth < 3)
            {
                var child = RandomTree(random, depth + 1);
                child.Opaque = random.Next(100) < 15;
                dir.Children.Add(new(key, child));
            }
            else if (roll < 92) dir.Children.Add(new(key, LayerSourceNode.NewWhiteout()));
            else dir.Children.Add(new(key, new LayerSourceNode(LayerFileType.Symlink) { Permissions = 0x1FF, SymlinkTarget = Encoding.UTF8.GetBytes($"../{name}") }));
        }
        return dir;
    }

    /// <summary>Hard-link groups cannot be compared with the reference (overlayfs keeps each layer's own numbers), nor the markers it shows.</summary>
    private static List<string> WithoutXattrsAndInodes(List<string> manifest)
    {
        var result = new List<string>();
        bool entries = false;
        foreach (var line in manifest)
        {
            if (line == "## xattrs") break;
            if (line.StartsWith("## ", StringComparison.Ordinal)) entries = line == "## entries";
            if (entries && !line.StartsWith("## ", StringComparison.Ordinal))
            {
                var f = line.Split('\t');
                f[8] = "-";
                result.Add(string.Join('\t', f));
            }
            else result.Add(line);
        }
        return result;
    }

    private static byte[] Head(string file, int count)
    {
        using var stream = File.OpenRead(file);
        var buffer = new byte[count];
        stream.ReadExactly(buffer);
        return buffer;
    }

    private static string Inode(string root, string rel) => Run("stat", "-c", "%i", Path.Combine(root, rel)).Trim();

    private static List<string> Names(string dir) => Directory.GetFileSystemEntries(dir).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToList();

    private static LayerSourceNode Dir() => new(LayerFileType.Directory) { Permissions = 0x1ED, MtimeSeconds = 1_600_000_000 };

    private static LayerSourceNode AddDir(LayerSourceNode parent, string name)
    {
        var d = Dir();
        parent.Children.Add(new(Encoding.UTF8.GetBytes(name), d));
        return d;
    }

    private void AddFile(LayerSourceNode parent, string name, string content) =>
        parent.Children.Add(new(Encoding.UTF8.GetBytes(name), NewFile(content)));

    private LayerSourceNode NewFile(string content)
    {
        string source = Path.Combine(Path.GetTempPath(), "fim-src-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(source, content);
        _cleanup.Add(source);
        return new LayerSourceNode(LayerFileType.Regular)
        {
            Permissions = 0x1A4,
            Size = Encoding.UTF8.GetByteCount(content),
            SourcePath = Encoding.UTF8.GetBytes(source),
            MtimeSeconds = 1_600_000_000,
        };
    }

    private string LayerFile(LayerSourceNode root)
    {
        string file = Path.Combine(Path.GetTempPath(), "fim-merged-" + Guid.NewGuid().ToString("N") + ".layer");
        _cleanup.Add(file);
        using (var stream = File.Create(file))
            LayerWriter.WriteTo(root, stream, new LayerWriterOptions());
        return file;
    }

    private Merged Mount(params LayerSourceNode[] bottomFirst) => Mount(bottomFirst.Select(LayerFile).ToArray());

    private static Merged Mount(params string[] bottomFirst) => new(bottomFirst, null);

    private static Merged Mount(string[] bottomFirst, LayerFileSystemOptions? options) => new(bottomFirst, options);

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

    /// <summary>Layer files served merged at a fresh mount point, torn down in the owner's order.</summary>
    private sealed class Merged : IDisposable
    {
        private readonly FuseMount _mount;
        private readonly FuseSession _session;
        private readonly List<LayerReader> _readers;

        public Merged(string[] bottomFirst, LayerFileSystemOptions? options)
        {
            _readers = bottomFirst.Select(f => LayerReader.Open(f, 0, -1)).ToList();
            Directory = System.IO.Directory.CreateTempSubdirectory("fim-mergedfs-").FullName;
            _mount = FuseMount.Mount(new FuseMountOptions(Directory) { FsName = "fimtest", Subtype = "fimtest" });
            _session = new FuseSession(_mount.Device, new MergedFileSystem(_readers, options), new FuseSessionOptions { Name = "fimtest", Workers = 2 });
            _session.Start();
            if (!_session.WaitForInit(TimeSpan.FromSeconds(10))) throw new TimeoutException("FUSE_INIT");
        }

        public string Directory { get; }

        public void Dispose()
        {
            _mount.Unmount();
            _session.Dispose();
            _mount.Dispose();
            _readers.ForEach(r => r.Dispose());
            System.IO.Directory.Delete(Directory);
        }
    }

    /// <summary>One layer as stored (whiteouts and opacity markers shown), for the kernel overlay to stack.</summary>
    private sealed class RawMount : IDisposable
    {
        private readonly FuseMount _mount;
        private readonly FuseSession _session;
        private readonly LayerReader _reader;

        public RawMount(string layer)
        {
            _reader = LayerReader.Open(layer, 0, -1);
            Directory = System.IO.Directory.CreateTempSubdirectory("fim-rawfs-").FullName;
            _mount = FuseMount.Mount(new FuseMountOptions(Directory) { FsName = "fimtest", Subtype = "fimtest" });
            _session = new FuseSession(_mount.Device, new LayerFileSystem(_reader), new FuseSessionOptions { Name = "fimtest", Workers = 1 });
            _session.Start();
            if (!_session.WaitForInit(TimeSpan.FromSeconds(10))) throw new TimeoutException("FUSE_INIT");
        }

        public string Directory { get; }

        public void Dispose()
        {
            _mount.Unmount();
            _session.Dispose();
            _mount.Dispose();
            _reader.Dispose();
            System.IO.Directory.Delete(Directory);
        }
    }
}
