using System.Diagnostics;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>
/// The `debootstrap --variant=minbase bookworm` tree that the Debian image and the layer
/// benchmarks use too: scripts/debian-rootfs.sh builds it once (from the mirror apt is configured
/// with) and caches it under $FIM_TEST_CACHE (default /var/cache/flatimage-tests). If the tree
/// cannot be built, every test using it fails with the reason: a missing tree must never look
/// like a pass.
/// </summary>
public sealed class DebianTreeFixture
{
    public DebianTreeFixture()
    {
        string script = Path.Combine(RepositoryRoot(), "scripts", "debian-rootfs.sh");
        var psi = new ProcessStartInfo(script, ["tree"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{script} tree exited {p.ExitCode}: {stderr.Result[^Math.Min(2000, stderr.Result.Length)..]}");
        TreePath = stdout.Trim();
    }

    public string TreePath { get; }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlatImage.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("cannot find the repository root (FlatImage.sln) above the test binaries");
    }
}
