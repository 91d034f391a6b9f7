using FlatImage.Runtime.Layers;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// Damaged layers through the published binary, as root and as a user. A layer before the end of
/// the chain that the configuration records fails `fim-layer list` and every run with one line
/// naming it (index, file, offset, reason), and the program never starts; an image written before
/// that end was recorded keeps working. A damaged data block reaches the program as EIO on every
/// overlay backend, never as zeros.
/// </summary>
public sealed class LayerIntegrityTests
{
    public static TheoryData<Identity, string, int> Damages => new()
    {
        { Identity.Root, "magic", 0 }, { Identity.User, "magic", 1 },
        { Identity.Root, "header checksum", 1 }, { Identity.User, "header checksum", 0 },
        { Identity.Root, "absurd sizes", 0 }, { Identity.User, "absurd sizes", 1 },
        { Identity.Root, "metadata", 1 }, { Identity.User, "metadata", 0 },
    };

    [Theory]
    [MemberData(nameof(Damages))]
    public void A_damaged_embedded_layer_is_one_error_line_for_list_and_run(Identity who, string damage, int index)
    {
        string image = BusyboxImage.New(who);
        string second = LayerCommandTests.MakeLayer(who, image, "second.layer", ("etc/second", "second\n"));
        Assert.Equal(0, Launcher.Run(who, image, "fim-layer", "add", second).ExitCode);
        var layers = Launcher.Run(who, image, "fim-layer", "list").Stdout.TrimEnd('\n').Split('\n').Select(LayerCommandTests.Parse).ToList();
        Assert.Equal(2, layers.Count);
        long offset = layers[index].Offset;

        string reason = Damage(image, offset, damage);
        string expected = $"Invalid layer {index} in '{image}' at offset {offset}: {reason}";

        var list = Launcher.Run(who, image, "fim-layer", "list");
        Assert.Equal(125, list.ExitCode);
        Assert.Equal("", list.Stdout);
        Assert.Equal($"E::fim-layer::{expected}\n", list.Stderr);

        var run = Launcher.Run(who, image, "fim-exec", "echo", "the program ran");
        Assert.Equal(125, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Equal([$"E::fim-exec::{expected}"], Errors(run));
    }

    /// <summary>stderr without the once-per-build warning that the bundled bwrap has no overlay (the first run of a new build says it).</summary>
    private static List<string> Errors(RunResult run) =>
        run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("W::", StringComparison.Ordinal)).ToList();

    [Theory]
    [InlineData(Identity.Root)]
    [InlineData(Identity.User)]
    public void A_FIM_LAYERS_layer_with_a_damaged_body_stops_the_run_and_one_that_is_no_layer_is_skipped(Identity who)
    {
        string image = BusyboxImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        string damaged = LayerCommandTests.MakeLayer(who, image, "damaged.layer", ("etc/extra", "extra\n"));
        Damage(damaged, 0, "metadata");
        string junk = Path.Combine(dir, "junk.layer");
        File.WriteAllText(junk, "not a layer");
        if (who == Identity.User)
            Launcher.Chown(junk);

        var skipped = Launcher.Run(who, image, new Dictionary<string, string?> { ["FIM_LAYERS"] = junk }, "fim-exec", "cat", "/etc/image-marker");
        Assert.Equal(0, skipped.ExitCode);
        Assert.Equal("from the layer\n", skipped.Stdout);

        var run = Launcher.Run(who, image, new Dictionary<string, string?> { ["FIM_LAYERS"] = damaged }, "fim-exec", "echo", "the program ran");
        Assert.Equal(125, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Equal([$"E::fim-exec::Invalid layer 1 '{damaged}': metadata checksum mismatch"], Errors(run));
    }

    [Theory]
    [InlineData(Identity.Root)]
    [InlineData(Identity.User)]
    public void An_image_written_before_the_chain_end_was_recorded_keeps_working(Identity who)
    {
        // What the appender wrote before it recorded the end: the layer bytes after the tools bundle, nothing in the configuration.
        string image = Launcher.NewImage(who);
        string layer = LayerCommandTests.MakeLayer(who, image, "old.layer", ("etc/old", "written the old way\n"));
        using (var f = new FileStream(image, FileMode.Append))
        {
            f.Write(File.ReadAllBytes(BusyboxImage.LayerFile));
            f.Write(File.ReadAllBytes(layer));
            // A torn tail after them, as an interrupted append leaves.
            byte[] torn = File.ReadAllBytes(layer);
            f.Write(torn.AsSpan(0, torn.Length / 2));
        }

        var list = Launcher.Run(who, image, "fim-layer", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Equal(2, list.Stdout.TrimEnd('\n').Split('\n').Length);
        var tree = Launcher.Run(who, image, "fim-exec", "cat", "/etc/old");
        Assert.True(tree.ExitCode == 0, tree.ToString());
        Assert.Equal("written the old way\n", tree.Stdout);

        // The next add replaces the tail and records the end; from then on the walk is strict.
        string next = LayerCommandTests.MakeLayer(who, image, "next.layer", ("etc/next", "next\n"));
        Assert.Equal(0, Launcher.Run(who, image, "fim-layer", "add", next).ExitCode);
        var layers = Launcher.Run(who, image, "fim-layer", "list").Stdout.TrimEnd('\n').Split('\n').Select(LayerCommandTests.Parse).ToList();
        Assert.Equal(3, layers.Count);
        Assert.Equal(new FileInfo(image).Length, layers[2].Offset + layers[2].Size);
        Damage(image, layers[1].Offset, "magic");
        Assert.Equal(125, Launcher.Run(who, image, "fim-layer", "list").ExitCode);
    }

    public static TheoryData<Identity, string> IdentitiesAndOverlays => new()
    {
        { Identity.Root, "bwrap" }, { Identity.User, "bwrap" },
        { Identity.Root, "overlayfs" }, { Identity.User, "overlayfs" },
        { Identity.Root, "unionfs" }, { Identity.User, "unionfs" },
    };

    /// <summary>
    /// The noise file spans many blocks, stored as they are (noise does not compress); the
    /// second is damaged. Reading the first megabyte first puts good pages in the caches (on the
    /// kernel overlay; the FUSE daemons' opens already fail), so the whole-file read meets the
    /// damage after some good data: the case that used to come out as zeros with exit status 0
    /// through unionfs-fuse.
    /// </summary>
    private const string ReadDamaged = """
        head -c 1048576 /data/noise.bin > /dev/null 2>&1
        cat /data/noise.bin > /dev/null; echo "cat=$?"
        dd if=/data/noise.bin of=/dev/null bs=65536 skip=288 count=1 2>/dev/null; echo "dd=$?"
        """;

    [Theory]
    [MemberData(nameof(IdentitiesAndOverlays))]
    public void A_damaged_block_reaches_the_program_as_EIO_on_every_backend(Identity who, string overlay)
    {
        string image = BusyboxImage.New(who);
        Assert.Equal(0, Launcher.Run(who, image, "fim-layer", "add", NoiseLayer.Value).ExitCode);
        var result = Launcher.Run(who, image, new Dictionary<string, string?> { ["FIM_OVERLAY"] = overlay }, "fim-exec", "sh", "-c", ReadDamaged);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("cat=1\ndd=1\n", result.Stdout);
        Assert.Contains("Input/output error", result.Stderr);
    }

    private static readonly Lazy<string> NoiseLayer = new(() =>
    {
        string dir = Launcher.NewDirectory();
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        string tree = Directory.CreateDirectory(Path.Combine(dir, "tree", "data")).FullName;
        var noise = new byte[20 << 20];
        new Random(16).NextBytes(noise);
        File.WriteAllBytes(Path.Combine(tree, "noise.bin"), noise);
        string layer = Path.Combine(dir, "noise.layer");
        string builder = Launcher.NewImage(Identity.Root, "builder.flatimage");
        var create = Launcher.Run(Identity.Root, builder, "fim-layer", "create", Path.GetDirectoryName(tree)!, layer);
        Assert.True(create.ExitCode == 0, create.ToString());
        // One byte of the second block (18 MiB into the file), found by its bytes: the block is stored raw.
        byte[] bytes = File.ReadAllBytes(layer);
        int at = bytes.AsSpan().IndexOf(noise.AsSpan(18 << 20, 64));
        Assert.True(at > 0, "the noise block is stored as it is");
        bytes[at + 7] ^= 0x01;
        File.WriteAllBytes(layer, bytes);
        File.SetUnixFileMode(layer, (UnixFileMode)0b110_100_100);
        return layer;
    });

    /// <summary>Damages the layer at <paramref name="offset"/> of <paramref name="file"/>; returns the reason the launcher must give.</summary>
    private static string Damage(string file, long offset, string damage)
    {
        using var f = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        var header = new byte[LayerHeader.Size];
        f.Position = offset;
        f.ReadExactly(header);
        Assert.True(LayerHeader.TryRead(header, out var parsed));
        string reason;
        switch (damage)
        {
            case "magic":
                header[2] ^= 0x20;
                reason = "bad magic";
                break;
            case "header checksum":
                header[121] ^= 0x01;
                reason = "header checksum mismatch";
                break;
            case "absurd sizes":
                // Sealed with a valid checksum: only the sizes give it away.
                (parsed with { MetadataOffset = long.MaxValue / 2 }).Write(header);
                reason = "a section lies outside the layer";
                break;
            case "metadata":
                f.Position = offset + parsed.MetadataOffset + parsed.MetadataStoredSize / 2;
                int b = f.ReadByte();
                f.Position--;
                f.WriteByte((byte)(b ^ 0x10));
                return "metadata checksum mismatch";
            default:
                throw new ArgumentOutOfRangeException(nameof(damage));
        }
        f.Position = offset;
        f.Write(header);
        return reason;
    }
}
