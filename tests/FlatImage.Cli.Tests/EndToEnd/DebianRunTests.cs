namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>The run tests of <see cref="RunTests"/> on the Debian image build.sh makes, as root and as an unprivileged user.</summary>
[Collection("run")]
public sealed class DebianRunTests : RunTests
{
    private static readonly Lazy<string> DebianVersion = new(() => File.ReadAllText(Path.Combine(DebianImage.HostTree, "etc", "debian_version")));

    protected override string NewImage(Identity who) => DebianImage.New(who);

    protected override (string Path, string Content) Marker => ("/etc/debian_version", DebianVersion.Value);

    protected override (string Guest, string Host) BigFile => ("/usr/bin/bash", Path.Combine(DebianImage.HostTree, "usr", "bin", "bash"));
}
