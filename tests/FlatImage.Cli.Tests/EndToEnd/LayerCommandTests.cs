namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>fim-layer create/add/list through the published binary.</summary>
public sealed class LayerCommandTests
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    [Theory]
    [MemberData(nameof(Identities))]
    public void Created_layers_are_appended_and_listed_in_order(Identity who)
    {
        string image = Launcher.NewImage(who);
        string dir = Path.GetDirectoryName(image)!;
        string first = MakeLayer(who, image, "first", ("hello.txt", "hello"));
        string second = MakeLayer(who, image, "second", ("bin/tool", new string('x', 300_000)));

        Assert.Equal($"Included novel layer from file '{first}'\n", Ok(who, image, "fim-layer", "add", first));
        Assert.Equal($"Included novel layer from file '{second}'\n", Ok(who, image, "fim-layer", "add", second));

        var lines = Ok(who, image, "fim-layer", "list").TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        var l0 = Parse(lines[0]);
        var l1 = Parse(lines[1]);
        Assert.Equal((0, image), (l0.Index, l0.Path));
        Assert.Equal((1, image), (l1.Index, l1.Path));
        Assert.Equal(new FileInfo(first).Length, l0.Size);
        Assert.Equal(new FileInfo(second).Length, l1.Size);
        Assert.Equal(l0.Offset + l0.Size, l1.Offset);
        Assert.Equal(new FileInfo(image).Length, l1.Offset + l1.Size);
        Assert.Equal(File.ReadAllBytes(second), File.ReadAllBytes(image).AsSpan((int)l1.Offset, (int)l1.Size).ToArray());
        Assert.False(Directory.Exists(Path.Combine(dir, ".app.flatimage.data")));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void An_interrupted_append_leaves_the_previous_layers_and_the_next_append_replaces_it(Identity who)
    {
        string image = Launcher.NewImage(who);
        string layer = MakeLayer(who, image, "one", ("a", "a"));
        Ok(who, image, "fim-layer", "add", layer);
        string before = Ok(who, image, "fim-layer", "list");

        // What a crash half-way through an append leaves: part of a layer after the chain.
        string big = MakeLayer(who, image, "big", ("blob", new string('z', 2_000_000)));
        byte[] bytes = File.ReadAllBytes(big);
        using (var f = new FileStream(image, FileMode.Append))
            f.Write(bytes, 0, bytes.Length / 2);
        Assert.Equal(before, Ok(who, image, "fim-layer", "list"));

        Ok(who, image, "fim-layer", "add", big);
        var lines = Ok(who, image, "fim-layer", "list").TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        var top = Parse(lines[1]);
        Assert.Equal(new FileInfo(image).Length, top.Offset + top.Size);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_file_that_is_not_a_layer_is_refused_and_the_image_is_unchanged(Identity who)
    {
        string image = Launcher.NewImage(who);
        string junk = Path.Combine(Path.GetDirectoryName(image)!, "junk.layer");
        File.WriteAllBytes(junk, new byte[10_000]);
        if (who == Identity.User)
            Launcher.Chown(junk);
        string hash = ConfigurationCommandTests.Hash(image);
        var result = Launcher.Run(who, image, "fim-layer", "add", junk);
        Assert.Equal(125, result.ExitCode);
        Assert.StartsWith($"E::fim-layer::Not a valid layer file '{junk}'", result.Stderr);
        Assert.Equal(hash, ConfigurationCommandTests.Hash(image));

        var missing = Launcher.Run(who, image, "fim-layer", "add", "/nonexistent.layer");
        Assert.Equal("E::fim-layer::Failed to open input file '/nonexistent.layer'\n", missing.Stderr);
        Assert.Equal(125, missing.ExitCode);
    }

    [Fact]
    public void The_stack_adds_FIM_LAYERS_entries_and_the_data_directory_layers()
    {
        var who = Identity.Root;
        string image = Launcher.NewImage(who);
        string dir = Path.GetDirectoryName(image)!;
        string embedded = MakeLayer(who, image, "embedded", ("e", "e"));
        Ok(who, image, "fim-layer", "add", embedded);

        string single = MakeLayer(who, image, "single", ("s", "s"));
        string extraDir = Directory.CreateDirectory(Path.Combine(dir, "extra")).FullName;
        string b = MakeLayer(who, image, "extra/b.layer", ("b", "b"));
        string a = MakeLayer(who, image, "extra/a.layer", ("a", "a"));
        File.WriteAllText(Path.Combine(extraDir, "c-not-a-layer"), "nope");
        Directory.CreateDirectory(Path.Combine(extraDir, "subdir-ignored"));
        string managed = Directory.CreateDirectory(Path.Combine(dir, ".app.flatimage.data", "layers")).FullName;
        string m = MakeLayer(who, image, ".app.flatimage.data/layers/layer-000.layer", ("m", "m"));

        var env = new Dictionary<string, string?> { ["FIM_LAYERS"] = $"{single}:/does/not/exist:$FIM_TEST_EXTRA", ["FIM_TEST_EXTRA"] = extraDir };
        var result = Launcher.Run(who, image, env, "fim-layer", "list");
        Assert.Equal(0, result.ExitCode);
        var paths = result.Stdout.TrimEnd('\n').Split('\n').Select(l => Parse(l)).ToList();
        Assert.Equal([image, single, a, b, m], paths.Select(p => p.Path));
        Assert.Equal([0, 1, 2, 3, 4], paths.Select(p => p.Index));
        Assert.Equal(0, paths[1].Offset);
        Assert.Equal($"W::fim-layer::Skipping invalid layer '{Path.Combine(extraDir, "c-not-a-layer")}'\n", result.Stderr);
    }

    [Theory]
    [InlineData("C::fim-layer::Missing op for 'fim-layer' (create,add,commit,list)")]
    [InlineData("C::fim-layer::Invalid layer operation", "remove")]
    [InlineData("C::fim-layer::add requires exactly one argument (/path/to/file.layer)", "add")]
    [InlineData("C::fim-layer::create requires exactly two arguments (/path/to/dir /path/to/file.layer)", "create", "/tmp")]
    [InlineData("C::fim-layer::Missing op for 'commit' (binary,layer,file)", "commit")]
    [InlineData("C::fim-layer::Invalid commit operation", "commit", "none")]
    [InlineData("C::fim-layer::Missing path for 'file' operation", "commit", "file")]
    [InlineData("C::fim-layer::Trailing arguments for fim-layer commit: ['x',]", "commit", "binary", "x")]
    [InlineData("C::fim-layer::Trailing arguments for fim-layer list: ['x',]", "list", "x")]
    [InlineData("E::fim-layer::Source directory '/does/not/exist' does not exist", "create", "/does/not/exist", "/tmp/x.layer")]
    [InlineData("E::fim-layer::Source '/etc/hostname' is not a directory", "create", "/etc/hostname", "/tmp/x.layer")]
    public void Bad_layer_commands_get_one_line_and_exit_125(string expected, params string[] rest)
    {
        string image = Launcher.NewImage(Identity.Root);
        var result = Launcher.Run(Identity.Root, image, ["fim-layer", .. rest]);
        Assert.Equal(125, result.ExitCode);
        Assert.Equal(expected + "\n", result.Stderr);
    }

    /// <summary>Builds a small tree and turns it into a layer with the image's own <c>fim-layer create</c>.</summary>
    internal static string MakeLayer(Identity who, string image, string name, params (string Path, string Content)[] files)
    {
        string dir = Path.GetDirectoryName(image)!;
        string tree = Path.Combine(dir, "tree-" + name.Replace('/', '_'));
        foreach (var (path, content) in files)
        {
            string full = Path.Combine(tree, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
        }
        string output = Path.Combine(dir, name);
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);
        var result = Launcher.Run(who, image, "fim-layer", "create", tree, output);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"Compress filesystem to '{output}'\nFilesystem created without errors\n", result.Stdout);
        return output;
    }

    internal static (int Index, long Offset, long Size, string Path) Parse(string line)
    {
        var parts = line.Split(':', 4);
        return (int.Parse(parts[0]), long.Parse(parts[1]), long.Parse(parts[2]), parts[3]);
    }

    private static string Ok(Identity who, string image, params string[] args)
    {
        var result = Launcher.Run(who, image, args);
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: {result}");
        return result.Stdout;
    }
}
