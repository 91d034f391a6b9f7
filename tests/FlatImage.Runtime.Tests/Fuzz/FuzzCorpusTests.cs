using System.Buffers.Binary;
using System.Collections.Immutable;
using System.IO.Hashing;
using System.Text;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Portal;
using FlatImage.Runtime.Tests.Layers;

namespace FlatImage.Runtime.Tests.Fuzz;

/// <summary>
/// The seeds of the fuzz corpus are well-formed inputs made by our own writers, so mutations start
/// from the structure a parser really sees. With FIM_FUZZ_WRITE_CORPUS=&lt;dir&gt; the seeds are
/// (re)written there (tests/FlatImage.Runtime.Tests/Fuzz/corpus); otherwise the committed ones
/// must still be what the writers produce today, so a format change cannot leave the fuzzer
/// hammering at an outdated format.
/// </summary>
public sealed class FuzzCorpusTests
{
    [Fact]
    public void Committed_seeds_match_the_writers()
    {
        var seeds = Seeds();
        string? write = Environment.GetEnvironmentVariable("FIM_FUZZ_WRITE_CORPUS");
        foreach (var (target, name, bytes) in seeds)
        {
            if (write is { Length: > 0 })
            {
                Directory.CreateDirectory(Path.Combine(write, target));
                File.WriteAllBytes(Path.Combine(write, target, name), bytes);
                continue;
            }
            string committed = Path.Combine(Fuzzer.CorpusDirectory(target), name);
            Assert.True(File.Exists(committed), $"missing seed {target}/{name}");
            if (target is not ("layer" or "layer-metadata" or "layer-blocks"))
                Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(committed)), $"seed {target}/{name} is outdated");
        }
        // Layer bytes depend on file times; what must hold is that the committed layer still opens.
        if (write is not { Length: > 0 })
        {
            using var reader = LayerReader.Open(Path.Combine(Fuzzer.CorpusDirectory("layer"), "seed-tree.layer"), 0, -1);
            Assert.True(reader.InodeCount > 5);
            using var profiled = LayerReader.Open(Path.Combine(Fuzzer.CorpusDirectory("layer"), "seed-profiled.layer"), 0, -1);
            Assert.True(profiled.HasStartProfile);
        }
    }

    /// <summary>
    /// The committed seed layer was written when blocks were compressed with ZstdSharp (the managed
    /// port), and is read here with libzstd: the blocks are standard zstd frames, so every file must
    /// come back byte for byte (their contents are the ones <see cref="SeedLayer"/> writes).
    /// </summary>
    [Fact]
    public void Committed_seed_layer_reads_back_byte_for_byte()
    {
        using var reader = LayerReader.Open(Path.Combine(Fuzzer.CorpusDirectory("layer"), "seed-tree.layer"), 0, -1,
            new LayerReaderOptions { CacheBytes = 0 });
        var noise = new byte[70_000];
        new Random(7).NextBytes(noise);
        var expected = new (string Path, byte[] Content)[]
        {
            ("etc/hostname", "fuzz\n"u8.ToArray()),
            ("etc/conf.d/big.txt", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 9000).Select(i => $"line {i} of text\n")))),
            ("noise.bin", noise),
            ("empty-file", []),
        };
        foreach (var (path, content) in expected)
        {
            ulong ino = LayerReader.RootInode;
            foreach (string name in path.Split('/'))
                Assert.True(reader.Lookup(ino, Encoding.UTF8.GetBytes(name), out ino) == 0, $"lookup {path}");
            Assert.True(reader.TryGetInode(ino, out var inode));
            Assert.Equal(content.Length, inode.Size);
            // Read in odd pieces so reads cross the 64 KiB block boundaries.
            var read = new byte[content.Length];
            for (int at = 0; at < read.Length;)
            {
                Assert.Equal(0, reader.Read(ino, at, read.AsSpan(at, Math.Min(40_000, read.Length - at)), out int n));
                Assert.True(n > 0, $"{path}: short read at {at}");
                at += n;
            }
            Assert.True(content.AsSpan().SequenceEqual(read), $"{path} differs");
        }
    }

    private static List<(string Target, string Name, byte[] Bytes)> Seeds()
    {
        var config = ImageConfig.Default with
        {
            Distribution = "DEBIAN",
            Permissions = Permissions.Home | Permissions.Network | Permissions.Portal,
            Unshare = UnshareOptions.Ipc | UnshareOptions.User,
            Overlay = OverlayKind.Overlayfs,
            Casefold = true,
            Boot = new BootCommand("/bin/sh", ["-c", "echo hi"]),
            Environment = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [new KeyValuePair<string, string>("A", "1"), new KeyValuePair<string, string>("PS1", "$ ")]),
            Bindings = ImmutableSortedDictionary.CreateRange([new KeyValuePair<int, BindEntry>(0, new BindEntry(BindType.ReadOnly, "$HOME/x", "/x"))]),
            RemoteUrl = "https://example.org/recipes",
        };
        byte[] json = ConfigDocument.Serialize(config);
        var tools = new byte[ToolsHeader.Size + 8];
        new ToolsHeader(100, XxHash64.HashToUInt64(new byte[100])).ToBytes().CopyTo(tools, 0);
        BinaryPrimitives.WriteInt64LittleEndian(tools.AsSpan(ToolsHeader.Size), 4096);
        byte[] layer = SeedLayer(profile: null);
        // The same tree with a start profile region of 4 KiB blocks (big.txt's and noise.bin's),
        // so the profile fields and blocks get fuzzed too.
        byte[] profiled = SeedLayer(StartProfile.Parse("/etc/conf.d/big.txt\n/noise.bin\n/etc/hostname\n"u8));
        var request = new PortalRequest(["sh", "-c", "echo hi"], ["PATH=/usr/bin:/bin", "A=b"], "/tmp", 7);
        return
        [
            ("config-slot", "seed-full.slot", ConfigSlot.Encode(1, json)),
            ("config-json", "seed-full.json", json),
            ("config-json", "seed-default.json", ConfigDocument.Serialize(ImageConfig.Default)),
            ("elf", "seed-synthetic.elf", ParserFuzzTests.SyntheticElf()),
            ("tools-header", "seed.bin", tools),
            ("layer", "seed-tree.layer", layer),
            ("layer-metadata", "seed-tree.meta", LayerSurgery.Metadata(layer)),
            ("layer-blocks", "seed-tree.layer", layer),
            ("layer", "seed-profiled.layer", profiled),
            ("layer-blocks", "seed-profiled.layer", profiled),
            ("portal-request", "seed.req", request.Encode()),
            ("portal-frames", "seed-client.bin", [.. Frame(PortalFrameType.Request, request.Encode()), .. Frame(PortalFrameType.Signal, Int(15))]),
            ("portal-frames", "seed-server.bin", [.. Frame(PortalFrameType.Started, Int(42)), .. Frame(PortalFrameType.Exited, Int(3))]),
            ("portal-frames", "seed-failed.bin", Frame(PortalFrameType.Failed, [.. Int(1), .. Encoding.UTF8.GetBytes(PortalProtocol.NotFoundMessage)])),
        ];
    }

    /// <summary>A small tree with each file type, text that compresses (several 64 KiB zstd blocks) and noise that does not.</summary>
    private static byte[] SeedLayer(StartProfile? profile)
    {
        string dir = Directory.CreateTempSubdirectory("fim-fuzz-seed-").FullName;
        try
        {
            string root = Path.Combine(dir, "root");
            Directory.CreateDirectory(Path.Combine(root, "etc", "conf.d"));
            Directory.CreateDirectory(Path.Combine(root, "empty"));
            File.WriteAllText(Path.Combine(root, "etc", "hostname"), "fuzz\n");
            File.WriteAllText(Path.Combine(root, "etc", "conf.d", "big.txt"), string.Concat(Enumerable.Range(0, 9000).Select(i => $"line {i} of text\n")));
            var noise = new byte[70_000];
            new Random(7).NextBytes(noise);
            File.WriteAllBytes(Path.Combine(root, "noise.bin"), noise);
            File.WriteAllBytes(Path.Combine(root, "empty-file"), []);
            File.CreateSymbolicLink(Path.Combine(root, "link"), "etc/hostname");
            string output = Path.Combine(dir, "seed.layer");
            LayerWriter.Create(root, output, new LayerWriterOptions { BlockSize = 64 * 1024, CompressionLevel = 1, StartProfile = profile, ProfileBlockSize = 4096 });
            return File.ReadAllBytes(output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] Int(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        return b;
    }

    private static byte[] Frame(PortalFrameType type, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)(1 + payload.Length));
        frame[4] = (byte)type;
        payload.CopyTo(frame, 5);
        return frame;
    }
}
