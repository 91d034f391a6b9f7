using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using FlatImage.Runtime.Layers;
using Xunit;

namespace FlatImage.Runtime.Tests.Layers;

// Every test gets the debootstrap tree, whose first build needs root and the Debian mirror:
// excluded from scripts/unit-tests.sh (docs/contributing.md).
[Trait("Category", "NeedsRoot")]
public sealed class LayerReaderTests : IClassFixture<DebianTreeFixture>, IDisposable
{
    private const int ENOENT = 2, EIO = 5, ENOTDIR = 20, EINVAL = 22, EISDIR = 21;

    private readonly DebianTreeFixture _debian;
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    private readonly TestTree _scratch = new();

    public LayerReaderTests(DebianTreeFixture debian, Xunit.Abstractions.ITestOutputHelper output)
    {
        _debian = debian;
        _output = output;
    }

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void Round_trips_a_debootstrap_tree()
    {
        string layer = _scratch.PathOf("bookworm.layer");
        var result = LayerWriter.Create(_debian.TreePath, layer, new LayerWriterOptions());
        using var reader = LayerReader.Open(layer, 0, -1);
        int compared = LayerTreeAssert.Equal(_debian.TreePath, reader);
        Assert.True(compared > 3000, $"only {compared} paths compared");
        Assert.True(result.DuplicateFiles > 0);
    }

    [Fact]
    public void Reads_a_layer_embedded_at_an_offset()
    {
        byte[] layer = SmallLayer(out _);
        string image = _scratch.PathOf("image");
        var prefix = new byte[12345];
        new Random(5).NextBytes(prefix);
        File.WriteAllBytes(image, [.. prefix, .. layer, .. "trailing"u8]);
        using var reader = LayerReader.Open(image, prefix.Length, layer.Length);
        Assert.True(LayerTreeAssert.Equal(Path.Combine(_debian.TreePath, "etc"), reader) > 100);
        Assert.Throws<InvalidLayerException>(() => LayerReader.Open(image, prefix.Length + 1, layer.Length));
    }

    [Fact]
    public void Serves_many_threads_reading_random_ranges()
    {
        string source = Path.Combine(_debian.TreePath, "usr");
        string layer = _scratch.PathOf("usr.layer");
        LayerWriter.Create(source, layer, new LayerWriterOptions { BlockSize = 256 * 1024, CompressionLevel = 1 });
        // A small cache forces evictions while other threads still use blocks.
        using var reader = LayerReader.Open(layer, 0, -1, new LayerReaderOptions { CacheBytes = 2 * 1024 * 1024 });
        var files = new List<(string Path, ulong Ino, long Size)>();
        Collect(reader, LayerReader.RootInode, source, files);
        files = files.Where(f => f.Size > 0).ToList();
        Assert.True(files.Count > 1000);
        var contents = files.DistinctBy(f => f.Ino).ToDictionary(f => f.Ino, f => File.ReadAllBytes(f.Path));
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            var buffer = new byte[200_000];
            for (int i = 0; i < 3000; i++)
            {
                var f = files[random.Next(files.Count)];
                long offset = random.NextInt64(f.Size);
                int length = random.Next(1, buffer.Length);
                int rc = reader.Read(f.Ino, offset, buffer.AsSpan(0, length), out int n);
                var expected = contents[f.Ino].AsSpan((int)offset, (int)Math.Min(length, f.Size - offset));
                if (rc != 0 || !buffer.AsSpan(0, n).SequenceEqual(expected))
                    failures.Add($"{f.Path} @{offset}+{length}: rc {rc}, {n} bytes");
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Empty(failures);
    }

    [Fact]
    public void Returns_errnos_for_wrong_inode_kinds()
    {
        byte[] layer = SmallLayer(out string path);
        using var reader = LayerReader.Open(path, 0, -1);
        Assert.False(reader.TryGetInode(0, out _));
        Assert.False(reader.TryGetInode(reader.InodeCount + 1, out _));
        Assert.Equal(ENOENT, reader.Lookup(reader.InodeCount + 1, "x"u8, out _));
        Assert.Equal(ENOENT, reader.Lookup(LayerReader.RootInode, "no-such-name"u8, out _));
        Assert.Equal(0, reader.Lookup(LayerReader.RootInode, "passwd"u8, out ulong passwd));
        Assert.Equal(ENOTDIR, reader.Lookup(passwd, "x"u8, out _));
        Assert.Equal(ENOTDIR, reader.ReadDirectory(passwd, 0, (long _, ReadOnlySpan<byte> _, ulong _, in LayerInode _) => true));
        Assert.Equal(EISDIR, reader.Read(LayerReader.RootInode, 0, new byte[10], out _));
        Assert.Equal(EINVAL, reader.Read(passwd, -1, new byte[10], out _));
        Assert.Equal(EINVAL, reader.ReadLink(passwd, out _));
        Assert.Equal(EINVAL, reader.ReadDirectory(LayerReader.RootInode, -1, (long _, ReadOnlySpan<byte> _, ulong _, in LayerInode _) => true));
        Assert.Equal(0, reader.Read(passwd, 1L << 40, new byte[10], out int n));
        Assert.Equal(0, n);
        // Resuming a listing from an index continues where a full buffer stopped.
        var first = new List<string>();
        reader.ReadDirectory(LayerReader.RootInode, 0, (long i, ReadOnlySpan<byte> name, ulong _, in LayerInode _) =>
        {
            first.Add(Encoding.UTF8.GetString(name));
            return first.Count < 10;
        });
        var rest = new List<string>();
        reader.ReadDirectory(LayerReader.RootInode, 10, (long i, ReadOnlySpan<byte> name, ulong _, in LayerInode _) =>
        {
            rest.Add(Encoding.UTF8.GetString(name));
            return true;
        });
        Assert.Equal(reader.TryGetInode(1, out var root) ? root.Size : -1, first.Count + rest.Count);
    }

    [Fact]
    public void Rejects_every_flipped_header_byte()
    {
        byte[] layer = SmallLayer(out _);
        for (int i = 0; i < LayerHeader.Size; i++)
        {
            var copy = (byte[])layer.Clone();
            copy[i] ^= 0x10;
            Assert.False(LayerHeader.TryRead(copy, out _), $"byte {i}");
            AssertInvalid(copy);
        }
    }

    [Fact]
    public void Rejects_flipped_metadata_and_block_index_bytes()
    {
        byte[] layer = SmallLayer(out _);
        LayerHeader.TryRead(layer, out var h);
        var random = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            var copy = (byte[])layer.Clone();
            long at = i % 2 == 0
                ? h.MetadataOffset + random.NextInt64(h.MetadataStoredSize)
                : h.BlockIndexOffset + random.NextInt64(h.BlockIndexSize);
            copy[at] ^= (byte)(1 << random.Next(8));
            AssertInvalid(copy);
        }
    }

    [Fact]
    public void Reports_EIO_for_corrupt_block()
    {
        byte[] layer = SmallLayer(out string path);
        LayerHeader.TryRead(layer, out var h);
        layer[h.DataOffset + 10] ^= 0xFF; // inside block 0 only
        File.WriteAllBytes(path, layer);
        using var reader = LayerReader.Open(path, 0, -1);
        int eio = 0, ok = 0;
        ForEachFile(reader, LayerReader.RootInode, (ino, size) =>
        {
            var buffer = new byte[size];
            int rc = reader.Read(ino, 0, buffer, out int n);
            if (rc == EIO)
                eio++;
            else if (rc == 0 && n == size)
                ok++;
            else
                throw new Xunit.Sdk.XunitException($"rc {rc}, {n} of {size}");
        });
        Assert.True(eio > 0 && ok > 0, $"{eio} EIO, {ok} ok");
    }

    [Fact]
    public void Rejects_truncated_layers()
    {
        byte[] layer = SmallLayer(out _);
        var random = new Random(3);
        var points = Enumerable.Range(0, 200).Select(_ => random.Next(layer.Length)).Concat([0, 1, 127, 128, 129, layer.Length - 1]);
        foreach (int length in points)
            AssertInvalid(layer.AsSpan(0, length).ToArray());
    }

    [Fact]
    public void Rejects_absurd_sizes_and_offsets_in_a_sealed_header()
    {
        byte[] layer = SmallLayer(out _);
        var changes = new Func<LayerHeader, LayerHeader>[]
        {
            h => h with { MetadataSize = 10L << 30 },
            h => h with { MetadataSize = LayerHeader.MaxMetadataSize },
            h => h with { MetadataSize = h.MetadataSize + 1 },
            h => h with { MetadataStoredSize = 10L << 30 },
            h => h with { MetadataOffset = -1 },
            h => h with { MetadataOffset = long.MaxValue - 5 },
            h => h with { TotalSize = long.MaxValue },
            h => h with { TotalSize = 64 },
            h => h with { DataSize = h.DataSize + 1 },
            h => h with { DataOffset = 0 },
            h => h with { BlockCount = h.BlockCount + 1 },
            h => h with { BlockIndexSize = h.BlockIndexSize - 12 },
            h => h with { BlockIndexOffset = h.TotalSize },
            h => h with { StreamLength = h.StreamLength + (1L << 40) },
            h => h with { StreamLength = -1 },
            h => h with { BlockSizeLog2 = 40 },
            h => h with { BlockSizeLog2 = 0 },
            h => h with { Version = 2 },
        };
        foreach (var change in changes)
            AssertInvalid(LayerSurgery.WithHeader(layer, change));
    }

    [Fact]
    public void Rejects_bad_names_cycles_and_dangling_entries_in_sealed_metadata()
    {
        byte[] layer = SmallLayer(out _);
        byte[] meta = LayerSurgery.Metadata(layer);
        uint inodes = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(4));
        uint entries = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(8));
        uint xattrs = BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(12));
        int entriesAt = 32 + (int)inodes * 56;
        int poolAt = entriesAt + (int)entries * 12 + (int)xattrs * 16;

        byte[] Edit(Action<byte[]> edit)
        {
            var copy = (byte[])meta.Clone();
            edit(copy);
            return LayerSurgery.WithMetadata(layer, copy);
        }
        Span<byte> NameOf(byte[] m, int entry)
        {
            int at = (int)BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(entriesAt + entry * 12));
            int length = BinaryPrimitives.ReadUInt16LittleEndian(m.AsSpan(entriesAt + entry * 12 + 8));
            return m.AsSpan(poolAt + at, length);
        }
        // A name with a slash, with NUL, "..", ".", or empty.
        AssertInvalid(Edit(m => NameOf(m, 0)[0] = (byte)'/'));
        AssertInvalid(Edit(m => NameOf(m, 0)[^1] = 0));
        AssertInvalid(Edit(m => { BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(entriesAt + 8), 2); NameOf(m, 0)[0] = (byte)'.'; NameOf(m, 0)[1] = (byte)'.'; }));
        AssertInvalid(Edit(m => BinaryPrimitives.WriteUInt16LittleEndian(m.AsSpan(entriesAt + 8), 0)));
        // Entries out of order (swap the inode numbers and name offsets of entries 0 and 1).
        AssertInvalid(Edit(m =>
        {
            var a = m.AsSpan(entriesAt, 12).ToArray();
            m.AsSpan(entriesAt + 12, 12).CopyTo(m.AsSpan(entriesAt));
            a.CopyTo(m.AsSpan(entriesAt + 12));
        }));
        // An entry pointing at the root: a directory cycle.
        int dirEntry = Enumerable.Range(0, (int)entries).First(e =>
            meta[32 + (BinaryPrimitives.ReadUInt32LittleEndian(meta.AsSpan(entriesAt + e * 12 + 4)) - 1) * 56] == (byte)LayerFileType.Directory);
        AssertInvalid(Edit(m => BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(entriesAt + dirEntry * 12 + 4), 1)));
        // Entries pointing at inode 0 or past the table.
        AssertInvalid(Edit(m => BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(entriesAt + 4), 0)));
        AssertInvalid(Edit(m => BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(entriesAt + 4), inodes + 1)));
        // A directory whose entry range runs off the table, a file whose data runs off the stream.
        AssertInvalid(Edit(m => BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(32 + 48), entries + 1)));
        int file = Enumerable.Range(0, (int)inodes).First(i => meta[32 + i * 56] == (byte)LayerFileType.Regular && BinaryPrimitives.ReadInt64LittleEndian(meta.AsSpan(32 + i * 56 + 32)) > 0);
        AssertInvalid(Edit(m => BinaryPrimitives.WriteInt64LittleEndian(m.AsSpan(32 + file * 56 + 32), long.MaxValue)));
        AssertInvalid(Edit(m => BinaryPrimitives.WriteUInt64LittleEndian(m.AsSpan(32 + file * 56 + 40), ulong.MaxValue - 3)));
        // Counts that do not match the table sizes.
        AssertInvalid(Edit(m => BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(4), uint.MaxValue)));
        AssertInvalid(Edit(m => BinaryPrimitives.WriteUInt64LittleEndian(m.AsSpan(16), ulong.MaxValue)));
        // The unedited metadata, resealed, still opens: the edits above are what made them invalid.
        using var ok = OpenBytes(LayerSurgery.WithMetadata(layer, meta));
    }

    [Fact]
    public void Survives_thousands_of_random_corruptions()
    {
        byte[] layer = SmallLayer(out _);
        byte[] meta = LayerSurgery.Metadata(layer);
        var expected = new Dictionary<string, byte[]>();
        using (var original = OpenBytes(layer))
            Snapshot(original, LayerReader.RootInode, "", expected);
        var random = new Random(42);
        var clock = Stopwatch.StartNew();
        int opened = 0, iterations = 0;
        for (; iterations < 4000 && clock.Elapsed < TimeSpan.FromSeconds(15); iterations++)
        {
            byte[] copy;
            switch (iterations % 3)
            {
                case 0: // raw damage: checksums must catch it
                    copy = (byte[])layer.Clone();
                    for (int k = random.Next(1, 5); k > 0; k--)
                        copy[random.Next(copy.Length)] = (byte)random.Next(256);
                    break;
                case 1: // structural damage behind valid checksums: validation must catch it
                    var m = (byte[])meta.Clone();
                    for (int k = random.Next(1, 4); k > 0; k--)
                        m[random.Next(m.Length)] = (byte)random.Next(256);
                    copy = LayerSurgery.WithMetadata(layer, m);
                    break;
                default: // a random range overwritten, sometimes truncated
                    copy = (byte[])layer.Clone();
                    int at = random.Next(copy.Length);
                    random.NextBytes(copy.AsSpan(at, Math.Min(copy.Length - at, random.Next(1, 64))));
                    if (random.Next(4) == 0)
                        copy = copy.AsSpan(0, random.Next(copy.Length)).ToArray();
                    break;
            }
            LayerReader reader;
            try
            {
                reader = OpenBytes(copy);
            }
            catch (InvalidLayerException)
            {
                continue;
            }
            opened++;
            // Resealed metadata may legitimately point a name at other bytes (it passed every
            // check); there only "no crash, no hang, errno or data" can be asked.
            using (reader)
                CheckAgainst(reader, iterations % 3 == 1 ? null : expected);
        }
        _output.WriteLine($"{iterations} corruptions in {clock.Elapsed.TotalSeconds:F1} s, {opened} still opened and were read");
        Assert.True(iterations >= 1000, $"only {iterations} iterations in time");
        Assert.True(opened > 0, "no corruption was ever opened: the read paths were not exercised");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20));
    }

    /// <summary>Every readable path either serves the original bytes or reports an errno.</summary>
    private static void CheckAgainst(LayerReader reader, Dictionary<string, byte[]>? expected)
    {
        var buffer = new byte[1 << 20];
        var stack = new Stack<(ulong Ino, string Path, int Depth)>();
        stack.Push((LayerReader.RootInode, "", 0));
        int visited = 0;
        while (stack.Count > 0 && visited < 100_000)
        {
            var (dir, path, depth) = stack.Pop();
            reader.ReadDirectory(dir, 0, (long index, ReadOnlySpan<byte> name, ulong ino, in LayerInode inode) =>
            {
                visited++;
                string child = path + "/" + Encoding.UTF8.GetString(name);
                if (inode.Type == LayerFileType.Directory && depth < 64)
                    stack.Push((ino, child, depth + 1));
                else if (inode.Type == LayerFileType.Regular)
                {
                    int rc = reader.Read(ino, 0, buffer.AsSpan(0, (int)Math.Min(buffer.Length, inode.Size)), out int n);
                    if (rc == 0 && expected is not null && expected.TryGetValue(child, out var want) && want.Length == inode.Size)
                        Assert.True(buffer.AsSpan(0, n).SequenceEqual(want), $"{child}: wrong bytes");
                    else
                        Assert.True(rc is 0 or EIO, $"{child}: errno {rc}");
                }
                else if (inode.Type == LayerFileType.Symlink)
                    Assert.Equal(0, reader.ReadLink(ino, out _));
                reader.ListXattr(ino, out _);
                return true;
            });
        }
    }

    private static void Snapshot(LayerReader reader, ulong dir, string path, Dictionary<string, byte[]> into)
    {
        var files = new List<(string, ulong, long)>();
        Collect(reader, dir, path, files);
        foreach (var (child, ino, size) in files)
        {
            var bytes = new byte[size];
            Assert.Equal(0, reader.Read(ino, 0, bytes, out _));
            into[child] = bytes;
        }
    }

    private LayerReader OpenBytes(byte[] layer)
    {
        string path = _scratch.PathOf("fuzz.layer");
        File.WriteAllBytes(path, layer);
        return LayerReader.Open(path, 0, -1, new LayerReaderOptions { CacheBytes = 256 * 1024 });
    }

    private void AssertInvalid(byte[] layer)
    {
        var e = Assert.Throws<InvalidLayerException>(() => OpenBytes(layer).Dispose());
        Assert.StartsWith("invalid layer '", e.Message);
    }

    /// <summary>The Debian /etc as a small layer with many small blocks.</summary>
    private byte[] SmallLayer(out string path)
    {
        path = _scratch.PathOf("etc.layer");
        LayerWriter.Create(Path.Combine(_debian.TreePath, "etc"), path, new LayerWriterOptions { BlockSize = 64 * 1024, CompressionLevel = 1 });
        return File.ReadAllBytes(path);
    }

    private static void Collect(LayerReader reader, ulong dir, string path, List<(string, ulong, long)> into)
    {
        var children = new List<(ulong, string, LayerInode)>();
        reader.ReadDirectory(dir, 0, (long _, ReadOnlySpan<byte> name, ulong ino, in LayerInode inode) =>
        {
            children.Add((ino, path + "/" + Encoding.UTF8.GetString(name), inode));
            return true;
        });
        foreach (var (ino, child, inode) in children)
        {
            if (inode.Type == LayerFileType.Directory)
                Collect(reader, ino, child, into);
            else if (inode.Type == LayerFileType.Regular)
                into.Add((child, ino, inode.Size));
        }
    }

    private static void ForEachFile(LayerReader reader, ulong dir, Action<ulong, long> action)
    {
        var files = new List<(string, ulong, long)>();
        Collect(reader, dir, "", files);
        foreach (var (_, ino, size) in files)
            action(ino, size);
    }
}
