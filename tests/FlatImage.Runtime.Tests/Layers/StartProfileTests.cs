using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using FlatImage.Runtime.Filesystems;
using FlatImage.Runtime.Layers;
using Xunit;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>
/// The start profile from file to layer: parsing untrusted profile text, the writer's profile
/// region, the header's new fields, the reader's mapping and prefetch, and damage in the region.
/// </summary>
public sealed class StartProfileTests : IDisposable
{
    private const int EIO = 5;

    private readonly TestTree _tree = new();

    public StartProfileTests() => _tree.BuildEverything();

    public void Dispose() => _tree.Dispose();

    /// <summary>Files of <see cref="TestTree.BuildEverything"/> a boot might read, and lines that must be skipped.</summary>
    private static readonly string ProfileText = string.Join('\n',
        "# recorded by a test",
        "/dir/big.bin",
        "/hello.txt",
        "/dir/dup2.txt",          // a duplicate: its content (dup1's) goes into the region once
        "/dup1.txt",
        "/dir/sub/linked-third",  // a hard link of /linked
        "/linked",
        "/link-to-hello",         // a symlink: never followed
        "/dir/absolute/x",        // through a symlink to /etc: never followed
        "/does/not/exist",
        "relative/path",
        "/dir/../hello.txt",
        "/./hello.txt",
        "/empty",                 // empty: no bytes to place
        "/dir",                   // a directory
        "/hello.txt",             // twice
        "/" + new string('a', 300),
        "/with\0nul",
        "");

    private static StartProfile Profile() => StartProfile.Parse(Encoding.UTF8.GetBytes(ProfileText));

    private static readonly string[] ProfiledFiles = ["dir/big.bin", "hello.txt", "dir/dup2.txt", "linked"];

    private string Write(string name, LayerWriterOptions options)
    {
        string layer = _tree.PathOf("../" + Path.GetFileName(_tree.Root) + "-" + name);
        LayerWriter.Create(_tree.Root, layer, options with { Threads = 2 });
        return layer;
    }

    [Fact]
    public void Parses_only_absolute_paths_of_plain_names()
    {
        var profile = Profile();
        var paths = profile.Paths.Select(p => "/" + string.Join('/', p.Select(Encoding.Latin1.GetString))).ToList();
        Assert.Equal(["/dir/big.bin", "/hello.txt", "/dir/dup2.txt", "/dup1.txt", "/dir/sub/linked-third", "/linked",
            "/link-to-hello", "/dir/absolute/x", "/does/not/exist", "/empty", "/dir"], paths);
        // relative, "..", ".", a 300-byte name, a NUL, and the repeated /hello.txt.
        Assert.Equal(6, profile.SkippedLines);
    }

    [Fact]
    public void Resolves_only_regular_files_of_the_tree_by_name()
    {
        var root = LayerSourceScanner.Scan(_tree.Root, [], default);
        var found = Profile().Resolve(root);
        // dup1.txt and dup2.txt are distinct nodes; linked-third and linked are one node (hard link).
        Assert.Equal(6, found.Count);
        Assert.All(found, n => Assert.Equal(LayerFileType.Regular, n.Type));
        Assert.Equal(found.Count, found.Distinct().Count());
    }

    [Fact]
    public void A_profiled_and_an_unprofiled_layer_of_one_tree_read_back_byte_identical()
    {
        string plain = Write("plain.layer", new LayerWriterOptions { BlockSize = 64 * 1024 });
        string profiled = Write("profiled.layer", new LayerWriterOptions { BlockSize = 64 * 1024, ProfileBlockSize = 4096, StartProfile = Profile() });
        try
        {
            using var a = LayerReader.Open(plain, 0, -1);
            using var b = LayerReader.Open(profiled, 0, -1);
            Assert.False(a.HasStartProfile);
            Assert.True(b.HasStartProfile);
            LayerHeader.TryRead(File.ReadAllBytes(profiled), out var h);
            long expected = ProfiledFiles.Sum(f => new FileInfo(_tree.PathOf(f)).Length);
            Assert.Equal(expected, h.ProfileLength);
            Assert.Equal(12, h.ProfileBlockSizeLog2);
            // Both read back as the tree, and so as each other, every file in odd pieces.
            LayerTreeAssert.Equal(_tree.Root, a, _tree.ExpectedMissing);
            LayerTreeAssert.Equal(_tree.Root, b, _tree.ExpectedMissing);
            // The prefetcher may run before the reads: same bytes.
            b.Prefetch();
            Assert.Equal((int)h.ProfileBlockCount, b.PrefetchedBlocks);
            LayerTreeAssert.Equal(_tree.Root, b, _tree.ExpectedMissing);
        }
        finally
        {
            File.Delete(plain);
            File.Delete(profiled);
        }
    }

    [Fact]
    public void Places_the_profiled_files_first_in_their_order()
    {
        string profiled = Write("order.layer", new LayerWriterOptions { BlockSize = 64 * 1024, StartProfile = Profile() });
        try
        {
            byte[] layer = File.ReadAllBytes(profiled);
            LayerHeader.TryRead(layer, out var h);
            // The stream opens with big.bin, then hello.txt: block 0 decompresses to big.bin's first bytes.
            using var reader = LayerReader.Open(profiled, 0, -1);
            var big = File.ReadAllBytes(_tree.PathOf("dir/big.bin"));
            var first = DecompressBlock(layer, h, 0);
            Assert.True(first.AsSpan().SequenceEqual(big.AsSpan(0, first.Length)));
        }
        finally
        {
            File.Delete(profiled);
        }
    }

    [Fact]
    public void Writes_the_same_layer_as_before_without_a_usable_profile()
    {
        var options = new LayerWriterOptions { BlockSize = 64 * 1024, Threads = 1 };
        string plain = Write("none.layer", options);
        string empty = Write("empty.layer", options with { StartProfile = StartProfile.Empty });
        string nothing = Write("nothing.layer", options with { StartProfile = StartProfile.Parse("/does/not/exist\n/link-to-hello\n"u8) });
        try
        {
            byte[] reference = File.ReadAllBytes(plain);
            Assert.Equal(reference, File.ReadAllBytes(empty));
            Assert.Equal(reference, File.ReadAllBytes(nothing));
            // Flags, byte 26 and bytes 112..119 stay the zeros they always were.
            Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(reference.AsSpan(10)));
            Assert.Equal(0, reference[26]);
            Assert.Equal(0ul, BinaryPrimitives.ReadUInt64LittleEndian(reference.AsSpan(112)));
        }
        finally
        {
            File.Delete(plain);
            File.Delete(empty);
            File.Delete(nothing);
        }
    }

    [Fact]
    public void Refuses_impossible_profile_fields_in_a_sealed_header_with_a_clear_reason()
    {
        string profiled = Write("header.layer", new LayerWriterOptions { BlockSize = 64 * 1024, ProfileBlockSize = 4096, StartProfile = Profile() });
        byte[] layer = File.ReadAllBytes(profiled);
        File.Delete(profiled);
        var cases = new (Func<LayerHeader, LayerHeader> Change, string Reason)[]
        {
            (h => h with { ProfileLength = h.StreamLength + 1 }, "start profile region out of range"),
            (h => h with { ProfileLength = 0 }, "block count does not match the data size"), // the header forgot its region
            (h => h with { ProfileBlockSizeLog2 = 11 }, "start profile block size out of range"),
            (h => h with { ProfileBlockSizeLog2 = h.BlockSizeLog2 + 1 }, "start profile block size out of range"),
            (h => h with { ProfileBlockSizeLog2 = 200 }, "start profile block size out of range"),
            (h => h with { ProfileLength = h.ProfileLength - 20 * 4096 }, "does not match the data size and the start profile region"),
            (h => h with { ProfileBlockSizeLog2 = 13 }, "does not match the data size and the start profile region"),
            (h => h with { BlockCount = h.BlockCount - 1, BlockIndexSize = h.BlockIndexSize - 12 }, "does not match the data size and the start profile region"),
        };
        foreach (var (change, reason) in cases)
            AssertRefused(LayerSurgery.WithHeader(layer, change), reason);

        // Raw bytes the record cannot express: the flag with no region, an unknown flag, a region without the flag, byte 27.
        AssertRefused(Resealed(layer, b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(112), 0)), "start profile region out of range");
        AssertRefused(Resealed(layer, b => b[10] |= 2), "unsupported header fields");
        AssertRefused(Resealed(layer, b => b[10] = 0), "without the start profile flag");
        AssertRefused(Resealed(layer, b => b[27] = 1), "unsupported header fields");
    }

    [Fact]
    public void A_damaged_profile_block_is_EIO_for_every_read_even_after_the_prefetcher_met_it()
    {
        string profiled = Write("damaged.layer", new LayerWriterOptions { BlockSize = 64 * 1024, ProfileBlockSize = 4096, StartProfile = Profile() });
        try
        {
            byte[] layer = File.ReadAllBytes(profiled);
            LayerHeader.TryRead(layer, out var h);
            // Flip a byte of profile block 2: inside big.bin, which opens the region.
            long block2 = h.DataOffset + StoredSize(layer, h, 0) + StoredSize(layer, h, 1);
            layer[block2 + 3] ^= 0x40;
            File.WriteAllBytes(profiled, layer);
            foreach (bool prefetchFirst in new[] { true, false })
            {
                using var reader = LayerReader.Open(profiled, 0, -1);
                if (prefetchFirst)
                {
                    reader.Prefetch();
                    Assert.Equal((int)h.ProfileBlockCount - 1, reader.PrefetchedBlocks);
                }
                ulong big = Find(reader, "dir/big.bin");
                var buffer = new byte[4096];
                Assert.Equal(EIO, reader.Read(big, 2 * 4096 + 100, buffer, out int n));
                Assert.Equal(0, n);
                // A read spanning the damage fails whole; its neighbours still read.
                Assert.Equal(EIO, reader.Read(big, 0, new byte[3 * 4096], out _));
                Assert.Equal(0, reader.Read(big, 0, buffer, out n));
                Assert.Equal(4096, n);
                Assert.Equal(0, reader.Read(Find(reader, "hello.txt"), 0, buffer, out n));
                Assert.Equal("hello, layer\n", Encoding.UTF8.GetString(buffer, 0, n));
                // And again, after the first EIO: a failed block is never cached.
                Assert.Equal(EIO, reader.Read(big, 2 * 4096, buffer, out _));
                Assert.Equal(EIO, reader.VerifyFile(big));
            }
        }
        finally
        {
            File.Delete(profiled);
        }
    }

    [Fact]
    public void Reads_on_many_threads_while_the_prefetcher_runs_return_the_files()
    {
        string profiled = Write("threads.layer", new LayerWriterOptions { BlockSize = 64 * 1024, ProfileBlockSize = 4096, StartProfile = Profile() });
        try
        {
            var big = File.ReadAllBytes(_tree.PathOf("dir/big.bin"));
            for (int round = 0; round < 5; round++)
            {
                // A profile cache smaller than the region: the prefetcher stops at what it holds.
                using var reader = LayerReader.Open(profiled, 0, -1, new LayerReaderOptions { ProfileCacheBytes = 256 * 1024 });
                ulong ino = Find(reader, "dir/big.bin");
                reader.StartPrefetch();
                Parallel.For(0, 8, i =>
                {
                    var random = new Random(round * 8 + i);
                    var buffer = new byte[20_000];
                    for (int k = 0; k < 50; k++)
                    {
                        int at = random.Next(big.Length);
                        Assert.Equal(0, reader.Read(ino, at, buffer, out int n));
                        Assert.True(buffer.AsSpan(0, n).SequenceEqual(big.AsSpan(at, n)));
                    }
                });
                Assert.True(reader.PrefetchedBlocks <= 256 * 1024 / 4096);
            }
        }
        finally
        {
            File.Delete(profiled);
        }
    }

    [Fact]
    public void Disposing_a_reader_stops_its_prefetcher_first()
    {
        string profiled = Write("dispose.layer", new LayerWriterOptions { BlockSize = 64 * 1024, ProfileBlockSize = 4096, StartProfile = Profile() });
        try
        {
            // The prefetcher reads the file: disposing mid-way must stop it before the file
            // closes, with no exception on its thread (which would end the process).
            for (int i = 0; i < 20; i++)
            {
                var reader = LayerReader.Open(profiled, 0, -1);
                reader.StartPrefetch();
                reader.StartPrefetch(); // once only
                if (i % 2 == 0)
                    Thread.Sleep(1);
                reader.Dispose();
                Assert.True(reader.PrefetchedBlocks <= reader.Statistics.BlockCount);
            }
        }
        finally
        {
            File.Delete(profiled);
        }
    }

    [Fact]
    public void A_recorder_turns_the_names_the_kernel_learned_into_paths_first_read_first()
    {
        var recorder = new StartProfileRecorder();
        recorder.Named(10, 1, "usr"u8);
        recorder.Named(11, 10, "bin"u8);
        recorder.Named(12, 11, "true"u8);
        recorder.Named(13, 1, "etc"u8);
        recorder.Named(14, 13, "ld.so.cache"u8);
        recorder.Named(14, 13, "second-name"u8); // a hard link: the first name stays
        recorder.Read(14);
        recorder.Read(12);
        recorder.Read(14);
        recorder.Read(99); // never named: left out
        var paths = recorder.Paths().Select(Encoding.UTF8.GetString).ToList();
        Assert.Equal(["/etc/ld.so.cache", "/usr/bin/true"], paths);

        // Written and read back as a profile.
        string file = _tree.PathOf("../" + Path.GetFileName(_tree.Root) + ".profile");
        StartProfile.Write(file, [.. recorder.Paths(), "/with\nnewline"u8.ToArray()]);
        try
        {
            var profile = StartProfile.Load(file);
            Assert.Equal(2, profile.Paths.Count);
            Assert.Equal(0, profile.SkippedLines);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static void AssertRefused(byte[] layer, string reason)
    {
        string? why = LayerHeader.Check(layer, out _);
        Assert.True(why is not null && why.Contains(reason), $"expected '{reason}', got '{why}'");
        string path = Path.Combine(Path.GetTempPath(), $"fim-profile-header-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, layer);
        try
        {
            var e = Assert.Throws<InvalidLayerException>(() => LayerReader.Open(path, 0, -1).Dispose());
            Assert.Contains(reason, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Resealed(byte[] layer, Action<byte[]> edit)
    {
        var copy = (byte[])layer.Clone();
        edit(copy);
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(120), XxHash64.HashToUInt64(copy.AsSpan(0, 120)));
        return copy;
    }

    private static long StoredSize(byte[] layer, LayerHeader h, int block) =>
        BinaryPrimitives.ReadUInt32LittleEndian(layer.AsSpan((int)h.BlockIndexOffset + block * 12)) & 0x3FFF_FFFF;

    private static byte[] DecompressBlock(byte[] layer, LayerHeader h, int block)
    {
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(layer.AsSpan((int)h.BlockIndexOffset + block * 12));
        int size = (int)(stored & 0x3FFF_FFFF);
        var bytes = layer.AsSpan((int)h.DataOffset, size);
        var output = new byte[h.BlockLength(block)];
        if ((stored & 0x8000_0000) != 0)
            return bytes.ToArray();
        using var d = new Native.Compression.ZstdDecompressor();
        Assert.True(d.TryDecompress(bytes, output));
        if ((stored & 0x4000_0000) != 0)
            X86BranchFilter.Decode(output);
        return output;
    }

    private static ulong Find(LayerReader reader, string path)
    {
        ulong ino = LayerReader.RootInode;
        foreach (string name in path.Split('/'))
            Assert.Equal(0, reader.Lookup(ino, Encoding.UTF8.GetBytes(name), out ino));
        return ino;
    }
}
