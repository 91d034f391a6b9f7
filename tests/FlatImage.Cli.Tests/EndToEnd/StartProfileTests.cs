using System.Security.Cryptography;
using FlatImage.Tests.Shared;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// The start profile through the published binary, as root and as an unprivileged user
/// (docs/cli.md §7 FIM_PROFILE, §13.3, §13.5): a run with FIM_PROFILE=1 records the files it
/// read into the data directory; <c>fim-layer create --profile</c> and <c>fim-layer commit</c>
/// build layers that open with them; an image made from such a layer runs and reads back exactly
/// what one made without the profile does.
/// </summary>
public sealed class StartProfileTests : IDisposable
{
    private readonly List<string> _scratch = new();

    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    public void Dispose()
    {
        foreach (string dir in _scratch)
            Launcher.RunProcess("rm", ["-rf", "--one-file-system", dir], null, null);
    }

    private string Track(string image)
    {
        _scratch.Add(Path.GetDirectoryName(image)!);
        return image;
    }

    private static string ProfileOf(string image) =>
        Path.Combine(Path.GetDirectoryName(image)!, "." + Path.GetFileName(image) + ".data", "start-profile");

    private static readonly Dictionary<string, string?> Record = new() { ["FIM_PROFILE"] = "1" };

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_recorded_profile_orders_a_created_layer_that_reads_back_like_an_unprofiled_one(Identity who)
    {
        string image = Track(BusyboxImage.New(who));
        string profile = ProfileOf(image);

        var recorded = Launcher.Run(who, image, Record, "fim-exec", "cat", "/etc/image-marker");
        Assert.True(recorded.ExitCode == 0, recorded.ToString());
        Assert.Equal("from the layer\n", recorded.Stdout);
        Assert.Equal($"I::fim-exec::Start profile saved to '{profile}'\n", recorded.Stderr);
        var paths = File.ReadAllLines(profile).Where(l => !l.StartsWith('#')).ToList();
        // The shell's binary is read first (exec), then the file it printed.
        Assert.Equal(["/bin/busybox", "/etc/image-marker"], paths);

        // Runs that do not record say nothing and leave the profile alone.
        var plainRun = Launcher.Run(who, image, "fim-exec", "true");
        Assert.Equal((0, ""), (plainRun.ExitCode, plainRun.Stderr));
        Assert.True(File.Exists(profile));

        string dir = Path.GetDirectoryName(image)!;
        string tree = Path.Combine(dir, "tree");
        BusyboxTree.Write(tree);
        File.WriteAllText(Path.Combine(tree, "etc", "image-marker"), "from the layer\n");
        var other = new byte[300_000];
        new Random(12).NextBytes(other.AsSpan(0, 150_000));
        File.WriteAllBytes(Path.Combine(tree, "etc", "other"), other);
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);

        string plain = Path.Combine(dir, "plain.layer"), profiled = Path.Combine(dir, "profiled.layer");
        Ok(Launcher.Run(who, image, "fim-layer", "create", tree, plain));
        var create = Launcher.Run(who, image, "fim-layer", "create", tree, profiled, "--profile", profile);
        Ok(create);
        Assert.Equal($"Compress filesystem to '{profiled}'\nFilesystem created without errors\n", create.Stdout);
        Assert.Equal(0, File.ReadAllBytes(plain)[10]);
        Assert.Equal(1, File.ReadAllBytes(profiled)[10]);

        string Hashes(string layer, string name)
        {
            string img = Track(Launcher.NewImage(who, name));
            Ok(Launcher.Run(who, img, "fim-layer", "add", layer));
            var run = Launcher.Run(who, img, "fim-exec", "md5sum", "/bin/busybox", "/etc/image-marker", "/etc/other");
            Ok(run);
            return run.Stdout;
        }
        string expected = string.Concat(new[] { ("/bin/busybox", BusyboxTree.Busybox), ("/etc/image-marker", Path.Combine(tree, "etc", "image-marker")), ("/etc/other", Path.Combine(tree, "etc", "other")) }
            .Select(f => $"{Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(f.Item2)))}  {f.Item1}\n"));
        Assert.Equal(expected, Hashes(plain, "plain.flatimage"));
        Assert.Equal(expected, Hashes(profiled, "profiled.flatimage"));

        // Bad input is one line.
        var missing = Launcher.Run(who, image, "fim-layer", "create", tree, Path.Combine(dir, "x.layer"), "--profile", "/nonexistent/profile");
        Assert.Equal((125, "E::fim-layer::Failed to read start profile '/nonexistent/profile'\n"), (missing.ExitCode, missing.Stderr));
        var noPath = Launcher.Run(who, image, "fim-layer", "create", tree, Path.Combine(dir, "x.layer"), "--profile");
        Assert.Equal((125, "C::fim-layer::--profile requires a path (/path/to/start-profile)\n"), (noPath.ExitCode, noPath.Stderr));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_commit_places_the_recorded_files_it_holds_first(Identity who)
    {
        string image = Track(BusyboxImage.New(who));
        Ok(Launcher.Run(who, image, Record, "fim-exec", "cat", "/etc/image-marker"));
        // An update rewrites a file the profile names: the commit holds it, and puts it first.
        Ok(Launcher.Run(who, image, "fim-root", "sh", "-c", "echo updated > /etc/image-marker && echo new > /etc/new-file"));
        var commit = Launcher.Run(who, image, "fim-layer", "commit", "layer");
        Ok(commit);
        string layer = Path.Combine(Path.GetDirectoryName(image)!, ".app.flatimage.data", "layers", "layer-000.layer");
        byte[] header = File.ReadAllBytes(layer).AsSpan(0, 128).ToArray();
        Assert.Equal(1, header[10]);
        Assert.Equal("updated\n".Length, BitConverter.ToInt64(header, 112));

        var run = Launcher.Run(who, image, "fim-exec", "cat", "/etc/image-marker", "/etc/new-file");
        Ok(run);
        Assert.Equal("updated\nnew\n", run.Stdout);

        // --no-profile: the data directory's profile is not used.
        Ok(Launcher.Run(who, image, "fim-root", "sh", "-c", "echo again > /etc/image-marker"));
        Ok(Launcher.Run(who, image, "fim-layer", "commit", "layer", "--no-profile"));
        string second = Path.Combine(Path.GetDirectoryName(image)!, ".app.flatimage.data", "layers", "layer-001.layer");
        Assert.Equal(0, File.ReadAllBytes(second)[10]);
        Assert.Equal("again\n", Launcher.Run(who, image, "fim-exec", "cat", "/etc/image-marker").Stdout);
    }

    private static void Ok(RunResult result) => Assert.True(result.ExitCode == 0, result.ToString());
}
