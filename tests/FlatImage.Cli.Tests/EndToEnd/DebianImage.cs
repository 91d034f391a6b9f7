namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// The Debian image exactly as build.sh makes it (scripts/build-debian-image.sh over the launcher
/// under test), built once per test run; each test gets its own copy, so runs never share a data
/// directory. The debootstrap tree behind it is cached machine-wide (scripts/debian-rootfs.sh).
/// </summary>
public static class DebianImage
{
    private static readonly Lazy<string> Built = new(Build);
    private static readonly Lazy<string> Tree = new(() => Script("debian-rootfs.sh", "tree"));
    private static readonly Lazy<string> MirrorUrl = new(() => Script("debian-rootfs.sh", "mirror"));

    public static string New(Identity who, string name = "app.flatimage")
    {
        string dir = Launcher.NewDirectory();
        string image = Path.Combine(dir, name);
        File.Copy(Built.Value, image);
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);
        return image;
    }

    /// <summary>Where the cached debootstrap tree is on the host: the image's layer 0 was made from a copy of it.</summary>
    public static string HostTree => Tree.Value;

    /// <summary>The Debian mirror apt uses on this machine, which the image's sources name too.</summary>
    public static string Mirror => MirrorUrl.Value;

    private static string Build()
    {
        string image = Path.Combine(Launcher.NewDirectory(), "debian.flatimage");
        string script = Path.Combine(Launcher.RepositoryRoot, "scripts", "build-debian-image.sh");
        var result = Launcher.RunProcess(script, [Launcher.Path, image], null, null);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed: {result}");
        return image;
    }

    private static string Script(string name, string argument)
    {
        string script = Path.Combine(Launcher.RepositoryRoot, "scripts", name);
        var result = Launcher.RunProcess(script, [argument], null, null);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{script} {argument} failed: {result}");
        return result.Stdout.Trim();
    }
}
