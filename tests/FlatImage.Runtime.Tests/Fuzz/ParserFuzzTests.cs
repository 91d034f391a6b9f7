using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text.Json;
using FlatImage.Native.Elf;
using FlatImage.Native.Io;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Portal;
using FlatImage.Runtime.Tests.Layers;
using Xunit.Abstractions;

namespace FlatImage.Runtime.Tests.Fuzz;

/// <summary>
/// Every parser of bytes that come from outside — an image file someone sent, a layer, a portal
/// peer — fed mutations of its corpus for a bounded time (<see cref="Fuzzer"/>). Where a checksum
/// would stop every mutation at the door, the input is re-sealed first, so the structure behind
/// the checksum is what gets fuzzed.
/// </summary>
public sealed class ParserFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("fim-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private void Say(Fuzzer.Report r) =>
        output.WriteLine($"{r.Target}: {r.Inputs} inputs ({r.Corpus} from the corpus) in {r.Elapsed.TotalSeconds:F1} s");

    /// <summary>
    /// Slot A of a real image file, read the way every command reads it (header first, then only
    /// the JSON length it claims), then decoded; slot B is empty, so a bad slot A is either ignored
    /// as torn or reported.
    /// </summary>
    [Fact]
    public void Configuration_slots_are_read_or_refused_in_one_line()
    {
        string image = Path.Combine(_scratch, "image");
        var file = new byte[4096 + ImageLayout.ConfigSize];
        SyntheticElf().CopyTo(file, 0);
        File.WriteAllBytes(image, file);
        int previous = 0;
        Say(Fuzzer.Run("config-slot", input =>
        {
            using (var handle = File.OpenHandle(image, FileMode.Open, FileAccess.Write))
            {
                var slot = input.AsSpan(0, Math.Min(input.Length, ImageLayout.SlotSize));
                RandomAccess.Write(handle, new byte[Math.Max(0, previous - slot.Length)], 4096 + slot.Length);
                RandomAccess.Write(handle, slot, 4096);
                previous = slot.Length;
            }
            var read = ConfigStore.Read(image);
            var decoded = ConfigSlot.Decode(input.AsSpan(0, Math.Min(input.Length, ImageLayout.SlotSize)));
            if (decoded.IsValid)
                Assert.Equal(ConfigDocument.Serialize(ConfigDocument.Deserialize(decoded.Json)), ConfigDocument.Serialize(read));
        }, [typeof(InvalidImageException)], prepare: ResealSlotSometimes));
    }

    [Fact]
    public void Configuration_documents_parse_or_fail_in_one_printable_line()
    {
        Say(Fuzzer.Run("config-json", input =>
        {
            ImageConfig config;
            try
            {
                config = ConfigDocument.Deserialize(input);
            }
            catch (JsonException e)
            {
                // What the user reads (ConfigStore turns it into the InvalidImageException line).
                throw new InvalidImageException(ConfigStore.Describe(e));
            }
            // What was accepted must survive the round trip the next write makes.
            ConfigDocument.Deserialize(ConfigDocument.Serialize(config));
        }, [typeof(InvalidImageException)]));
    }

    /// <summary>The launcher's ELF headers, from which every command finds the configuration region; and PT_INTERP, which the tools extractor rewrites.</summary>
    [Fact]
    public void Elf_headers_give_an_end_inside_the_file_or_are_refused()
    {
        string image = Path.Combine(_scratch, "elf");
        Say(Fuzzer.Run("elf", input =>
        {
            if (ElfImage.TryFindInterpreter(input, out int at, out int length))
                Assert.True(at >= 0 && length >= 0 && at + (long)length <= input.Length, $"interpreter at {at}+{length} of {input.Length}");
            File.WriteAllBytes(image, input);
            using var file = File.OpenHandle(image, FileMode.Open, FileAccess.Read);
            var layout = ImageLayout.Read(file);
            Assert.InRange(layout.ElfEnd, 0, layout.FileLength);
        }, [typeof(InvalidDataException)], extraSeeds: [SyntheticElf()]));
    }

    /// <summary>
    /// A minimal x86-64 ELF64 with two program headers (PT_LOAD, PT_INTERP) and three section
    /// headers (null, PROGBITS, NOBITS): every table GetEnd walks, ending at 0x2C0.
    /// </summary>
    internal static byte[] SyntheticElf()
    {
        var e = new byte[0x2C0];
        "\u007fELF"u8.CopyTo(e);
        e[4] = 2; e[5] = 1; e[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(0x10), 2);   // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(0x12), 62);  // EM_X86_64
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(0x14), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(0x20), 64);  // e_phoff
        BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(0x28), 0x200); // e_shoff
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(0x34), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(0x36), 56);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(0x38), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(0x3A), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(0x3C), 3);
        void Program(int at, uint type, ulong offset, ulong size)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(at), type);
            BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(at + 0x08), offset);
            BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(at + 0x20), size);
            BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(at + 0x28), size);
        }
        Program(64, 1, 0, 0x200);
        Program(64 + 56, 3, 0x1C0, 28);
        "/lib64/ld-linux-x86-64.so.2\0"u8.CopyTo(e.AsSpan(0x1C0));
        void Section(int index, uint type, ulong offset, ulong size)
        {
            int at = 0x200 + index * 64;
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(at + 0x04), type);
            BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(at + 0x18), offset);
            BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(at + 0x20), size);
        }
        Section(1, 1, 0x100, 0x80);
        Section(2, 8, 0x300, 0x1000);
        return e;
    }

    [Fact]
    public void Tools_headers_are_accepted_only_within_the_file()
    {
        Say(Fuzzer.Run("tools-header", input =>
        {
            // The last 8 bytes of an input say how many bytes follow the header in the file.
            long after = input.Length >= 8 ? BinaryPrimitives.ReadInt64LittleEndian(input.AsSpan(input.Length - 8)) : 0;
            if (ToolsHeader.TryRead(input, after, out var header))
                Assert.InRange(header.PayloadSize, 0, after - ToolsHeader.Size);
        }, [], prepare: input =>
        {
            // Re-seal the header's own checksum so its fields, not the checksum, are what is tested.
            if (input.Length >= ToolsHeader.Size)
                BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(24), XxHash64.HashToUInt64(input.AsSpan(0, 24)));
            return input;
        }));
    }

    [Fact]
    public void Layers_open_or_fail_with_InvalidLayerException()
    {
        string path = Path.Combine(_scratch, "layer");
        Say(Fuzzer.Run("layer", input => OpenAndWalk(path, input), [typeof(InvalidLayerException)], prepare: ResealHeaderSometimes));
    }

    [Fact]
    public void Layer_metadata_behind_valid_checksums_opens_or_fails_with_InvalidLayerException()
    {
        string path = Path.Combine(_scratch, "layer");
        byte[] layer = File.ReadAllBytes(Path.Combine(Fuzzer.CorpusDirectory("layer"), "seed-tree.layer"));
        Say(Fuzzer.Run("layer-metadata", metadata => OpenAndWalk(path, LayerSurgery.WithMetadata(layer, metadata)),
            [typeof(InvalidLayerException)]));
    }

    /// <summary>Damaged blocks whose checksums were made to match reach the decompressor: reads say EIO, nothing throws.</summary>
    [Fact]
    public void Layer_blocks_behind_valid_checksums_read_or_fail_with_EIO()
    {
        string path = Path.Combine(_scratch, "layer");
        Say(Fuzzer.Run("layer-blocks", input => OpenAndWalk(path, input), [typeof(InvalidLayerException)], prepare: ResealBlocks));
    }

    [Fact]
    public void Portal_requests_decode_or_fail_with_PortalProtocolException()
    {
        Say(Fuzzer.Run("portal-request", input =>
        {
            var request = PortalRequest.Decode(input);
            Assert.Equal(input, request.Encode());
        }, [typeof(PortalProtocolException)]));
    }

    /// <summary>A stream of frames from a peer, through a real socket pair, as a portal server or client receives it.</summary>
    [Fact]
    public void Portal_frames_are_received_or_the_connection_is_refused()
    {
        Say(Fuzzer.Run("portal-frames", input =>
        {
            var (mine, peer) = SocketPair();
            using var connection = new PortalConnection(mine);
            using (peer)
            {
                if (input.Length > 0)
                    UnixSocket.Send(peer, input);
            }
            while (connection.Receive(timeoutMs: 1_000) is { } frame)
            {
                using (frame)
                {
                    if (frame.Type == PortalFrameType.Request)
                        PortalRequest.Decode(frame.Payload);
                    else if (frame.Type != PortalFrameType.Failed)
                        _ = frame.Number;
                    else
                        _ = frame.Text;
                }
            }
        }, [typeof(PortalProtocolException)]));
    }

    /// <summary>
    /// Opens a layer and touches everything a FUSE mount could ask for; every call answers an errno.
    /// Half the inputs have the start profile region prefetched first, as a mount does, so a damaged
    /// profile block is met by the prefetcher before the reads that must still get EIO.
    /// </summary>
    private static void OpenAndWalk(string path, byte[] layer)
    {
        File.WriteAllBytes(path, layer);
        using var reader = LayerReader.Open(path, 0, -1);
        if (layer.Length > 0 && (layer[layer.Length / 2] & 1) == 0)
            reader.Prefetch();
        var pending = new Stack<ulong>();
        pending.Push(LayerReader.RootInode);
        var buffer = new byte[64 * 1024];
        int visited = 0;
        while (pending.Count > 0 && visited < 10_000)
        {
            ulong dir = pending.Pop();
            var children = new List<(byte[] Name, ulong Ino, LayerFileType Type)>();
            reader.ReadDirectory(dir, 0, (long _, ReadOnlySpan<byte> name, ulong ino, in LayerInode inode) =>
            {
                children.Add((name.ToArray(), ino, inode.Type));
                return true;
            });
            foreach (var (name, ino, type) in children)
            {
                visited++;
                Assert.Equal(0, reader.Lookup(dir, name, out ulong found));
                Assert.Equal(ino, found);
                reader.TryGetInode(ino, out _);
                reader.ListXattr(ino, out _);
                switch (type)
                {
                    case LayerFileType.Directory:
                        pending.Push(ino);
                        break;
                    case LayerFileType.Symlink:
                        reader.ReadLink(ino, out _);
                        break;
                    case LayerFileType.Regular:
                        for (long offset = 0; offset < 4 << 20; offset += buffer.Length)
                        {
                            int errno = reader.Read(ino, offset, buffer, out int n);
                            Assert.True(errno is 0 or 5, $"read answered errno {errno}");
                            if (errno != 0 || n < buffer.Length)
                                break;
                        }
                        break;
                }
            }
        }
    }

    private static byte[] ResealSlotSometimes(byte[] input)
    {
        if (input.Length < ConfigSlot.HeaderSize || (input[^1] & 1) == 0)
            return input;
        // A slot whose CRC matches whatever the mutation left: its length and JSON are what is tested.
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(16));
        if (length > (uint)(input.Length - ConfigSlot.HeaderSize))
            return input;
        var crc = new Crc32();
        crc.Append(input.AsSpan(8, 12));
        crc.Append(input.AsSpan(ConfigSlot.HeaderSize, (int)length));
        BinaryPrimitives.WriteUInt32LittleEndian(input.AsSpan(20), crc.GetCurrentHashAsUInt32());
        return input;
    }

    private static byte[] ResealHeaderSometimes(byte[] input)
    {
        if (input.Length >= LayerHeader.Size && (input[^1] & 1) == 0)
            BinaryPrimitives.WriteUInt64LittleEndian(input.AsSpan(120), XxHash64.HashToUInt64(input.AsSpan(0, 120)));
        return input;
    }

    /// <summary>Recomputes every block checksum over the stored bytes, then the index and header checksums.</summary>
    private static byte[] ResealBlocks(byte[] input)
    {
        if (!LayerHeader.TryRead(input, out var h) || h.TotalSize > input.Length)
            return input;
        var index = input.AsSpan((int)h.BlockIndexOffset, (int)h.BlockIndexSize);
        long position = h.DataOffset;
        for (int i = 0; i < h.BlockCount; i++)
        {
            long size = BinaryPrimitives.ReadUInt32LittleEndian(index[(i * 12)..]) & LayerFormat.StoredSizeMask;
            if (position + size > input.Length)
                return input;
            BinaryPrimitives.WriteUInt64LittleEndian(index[(i * 12 + 4)..], XxHash64.HashToUInt64(input.AsSpan((int)position, (int)size)));
            position += size;
        }
        (h with { BlockIndexChecksum = XxHash64.HashToUInt64(index) }).Write(input);
        return input;
    }

    private static unsafe (SafeFd, SafeFd) SocketPair()
    {
        int* sv = stackalloc int[2];
        if (Native.Interop.Socket.socketpair(Native.Interop.Socket.AF_UNIX, Native.Interop.Socket.SOCK_STREAM | Native.Interop.Socket.SOCK_CLOEXEC, 0, sv) != 0)
            throw Native.ErrnoException.FromLastError("socketpair");
        return (new SafeFd(sv[0]), new SafeFd(sv[1]));
    }
}
