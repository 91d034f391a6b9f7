namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// A small test image: Debian's busybox-static with a symlink per applet, as one layer made by the
/// published launcher's own <c>fim-layer create</c>. Built once per test run; each test gets its
/// own copy of the image so runs never share a data directory.
/// </summary>
public static class BusyboxImage
{
    private static readonly Lazy<string> Layer = new(BuildLayer);

    /// <summary>The busybox layer file (readable by the test user).</summary>
    public static string LayerFile => Layer.Value;

    /// <summary>The test image: busybox and no libc, so whatever runs in it besides busybox (fim_portal) comes from the tools bundle.</summary>
    public static string New(Identity who, string name = "app.flatimage") => New(who, name, Layer.Value);

    private static string New(Identity who, string name, string layer)
    {
        string image = Launcher.NewImage(who, name);
        var add = Launcher.Run(who, image, "fim-layer", "add", layer);
        if (add.ExitCode != 0)
            throw new InvalidOperationException($"fim-layer add failed: {add}");
        return image;
    }

    private static string BuildLayer()
    {
        string dir = Launcher.NewDirectory();
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        string tree = Path.Combine(dir, "tree");
        BusyboxTree.Write(tree);
        File.WriteAllText(Path.Combine(tree, "etc", "image-marker"), "from the layer\n");
        string layer = Path.Combine(dir, "busybox.layer");
        string builder = Launcher.NewImage(Identity.Root, "builder.flatimage");
        var create = Launcher.Run(Identity.Root, builder, "fim-layer", "create", tree, layer);
        if (create.ExitCode != 0)
            throw new InvalidOperationException($"fim-layer create failed: {create}");
        File.SetUnixFileMode(layer, (UnixFileMode)0b110_100_100);
        return layer;
    }
}
