using System.Diagnostics;
using System.Text;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>Who runs the image: root, or the unprivileged test user the set-up creates.</summary>
public enum Identity
{
    Root,
    User,
}

/// <summary>The outcome of one whole-process run.</summary>
public sealed record RunResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>
/// The base image build.sh writes (dist/blueprint.flatimage: the published NativeAOT launcher,
/// the configuration region and the tools bundle), run as a user would run an image: a copy of it
/// is an image with the default configuration, and every run uses its bundled tools. Runs as root
/// or, through setpriv, as the test user.
/// </summary>
public static class Launcher
{
    public const string TestUser = "fimtest";

    private static readonly Lazy<string> LauncherPath = new(FindLauncher);
    private static readonly Lazy<(int Uid, int Gid)> User = new(EnsureTestUser);

    public static string Path => LauncherPath.Value;

    /// <summary>The published fim_portal: FIM_PORTAL, else the checkout's out/portal/fim_portal.</summary>
    public static string PortalPath =>
        Environment.GetEnvironmentVariable("FIM_PORTAL") is { Length: > 0 } configured
            ? configured
            : System.IO.Path.Combine(RepositoryRoot, "out", "portal", "fim_portal");

    private static readonly Lazy<string> RepositoryRootPath = new(FindRepositoryRoot);

    /// <summary>The checkout the tests run from (its scripts/ build the Debian image).</summary>
    public static string RepositoryRoot => RepositoryRootPath.Value;

    public static (int Uid, int Gid) TestUserIds => User.Value;

    private static readonly Lazy<string> RunRoot = new(CreateRunRoot);

    /// <summary>A fresh directory for one test, inside this test run's directory (removed when the run ends).</summary>
    public static string NewDirectory()
    {
        string dir = System.IO.Path.Combine(RunRoot.Value, Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_000_000);
        return dir;
    }

    /// <summary>A fresh directory holding a fresh image, owned by <paramref name="identity"/>.</summary>
    public static string NewImage(Identity identity, string name = "app.flatimage")
    {
        string dir = NewDirectory();
        string image = System.IO.Path.Combine(dir, name);
        File.Copy(Path, image);
        if (identity == Identity.User)
            Chown(dir, recursive: true);
        return image;
    }

    public static void Chown(string path, bool recursive = false)
    {
        var (uid, gid) = TestUserIds;
        var args = recursive ? new[] { "-R", $"{uid}:{gid}", path } : [$"{uid}:{gid}", path];
        var result = RunProcess("chown", args, null, null);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"chown failed: {result}");
    }

    public static RunResult Run(Identity identity, string image, params string[] args) => Run(identity, image, null, args);

    public static RunResult Run(Identity identity, string image, IDictionary<string, string?>? env, params string[] args)
    {
        var start = Start(identity, image, env, args);
        return Finish(start);
    }

    /// <summary>
    /// Runs the image through <paramref name="wrapper"/> (a command that ends by exec-ing its
    /// arguments, such as <c>unshare -m sh -c '…; exec "$@"' sh</c>), with the same identity and
    /// environment as <see cref="Run(Identity, string, IDictionary{string, string?}?, string[])"/>.
    /// </summary>
    public static RunResult RunWrapped(Identity identity, string image, IReadOnlyList<string> wrapper, IDictionary<string, string?>? env, params string[] args)
    {
        var info = StartInfo(identity, image, env, args);
        var inner = new List<string> { info.FileName };
        inner.AddRange(info.ArgumentList);
        info.FileName = wrapper[0];
        info.ArgumentList.Clear();
        foreach (string a in wrapper.Skip(1).Concat(inner))
            info.ArgumentList.Add(a);
        return Finish(Process.Start(info)!);
    }

    public static Process Start(Identity identity, string image, IDictionary<string, string?>? env, params string[] args)
    {
        var info = StartInfo(identity, image, env, args);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return Process.Start(info)!;
            }
            catch (System.ComponentModel.Win32Exception e) when (e.NativeErrorCode == 26 /* ETXTBSY */ && attempt < 10)
            {
                // The image was just copied: a process another test forks at that moment holds the
                // copy's write fd until it execs (O_CLOEXEC closes it only at exec). Wait it out.
                Thread.Sleep(50 * attempt);
            }
        }
    }

    /// <summary>Waits until <paramref name="path"/> exists: the program signals a point it reached. Fails after 30 s or if the process ended first.</summary>
    public static void WaitForFile(string path, Process process, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{what}: not within 30 s");
            Assert.False(process.HasExited, $"{what}: the process exited first");
            Thread.Sleep(10);
        }
    }

    public static RunResult Finish(Process process) => Finish(process, TimeSpan.FromSeconds(60));

    public static RunResult Finish(Process process, TimeSpan timeout)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5_000);
            throw new TimeoutException($"the launcher did not exit within {timeout.TotalSeconds} s\nstdout:\n{Completed(stdout)}\nstderr:\n{Completed(stderr)}");
        }
        return new RunResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Every image a run makes (a 30 MB blueprint copy each, hundreds per run) lives below one
    /// directory that is removed when the test process exits — without crossing into a mount a
    /// failed test may have left (those are detached lazily first).
    /// </summary>
    private static string CreateRunRoot()
    {
        string root = Directory.CreateTempSubdirectory($"fim-e2e-run-{Environment.ProcessId}-").FullName;
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (string line in File.ReadLines("/proc/self/mountinfo").Reverse())
            {
                string mountpoint = line.Split(' ')[4];
                if (mountpoint.StartsWith(root + "/", StringComparison.Ordinal))
                    RunProcess("umount", ["-l", mountpoint], null, null);
            }
            RunProcess("rm", ["-rf", "--one-file-system", root], null, null);
        };
        return root;
    }

    private static string Completed(Task<string> output) => output.Wait(2_000) ? output.Result : "(still open)";

    private static ProcessStartInfo StartInfo(Identity identity, string image, IDictionary<string, string?>? env, string[] args)
    {
        ProcessStartInfo info;
        if (identity == Identity.Root)
        {
            info = new ProcessStartInfo(image);
        }
        else
        {
            // setpriv drops to the test user for real (uid, gid, no supplementary groups): no sudo, no PAM.
            var (uid, gid) = TestUserIds;
            info = new ProcessStartInfo("setpriv");
            foreach (var a in new[] { $"--reuid={uid}", $"--regid={gid}", "--clear-groups", "--", image })
                info.ArgumentList.Add(a);
        }
        foreach (var a in args)
            info.ArgumentList.Add(a);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        info.StandardOutputEncoding = Encoding.UTF8;
        info.StandardErrorEncoding = Encoding.UTF8;
        info.WorkingDirectory = System.IO.Path.GetDirectoryName(image)!;
        // A user's session: their own HOME, no XDG_RUNTIME_DIR (so /tmp/fim-<uid> is used), no debug noise.
        info.Environment.Remove("FIM_DEBUG");
        info.Environment.Remove("XDG_RUNTIME_DIR");
        if (identity == Identity.User)
        {
            info.Environment["HOME"] = System.IO.Path.GetDirectoryName(image)!;
            info.Environment["USER"] = TestUser;
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            if (v is null)
                info.Environment.Remove(k);
            else
                info.Environment[k] = v;
        }
        return info;
    }

    public static RunResult RunProcess(string file, IEnumerable<string> args, string? stdin, string? cwd)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        if (cwd is not null)
            info.WorkingDirectory = cwd;
        using var p = Process.Start(info)!;
        if (stdin is not null)
            p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return new RunResult(p.ExitCode, o.Result, e.Result);
    }

    private static string FindLauncher()
    {
        string? configured = Environment.GetEnvironmentVariable("FIM_LAUNCHER");
        if (!string.IsNullOrEmpty(configured))
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"FIM_LAUNCHER={configured} does not exist");
        string path = System.IO.Path.Combine(RepositoryRoot, "dist", "blueprint.flatimage");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: run ./build.sh first (or set FIM_LAUNCHER)");
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "FlatImage.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("cannot find the repository root (FlatImage.sln) above the test binaries");
    }

    /// <summary>Creates the unprivileged test user once (idempotent) and makes /dev/fuse usable by it.</summary>
    private static (int, int) EnsureTestUser()
    {
        if (RunProcess("id", ["-u", TestUser], null, null).ExitCode != 0)
        {
            var add = RunProcess("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TestUser], null, null);
            if (add.ExitCode != 0 && RunProcess("id", ["-u", TestUser], null, null).ExitCode != 0)
                throw new InvalidOperationException($"useradd failed: {add}");
        }
        if (File.Exists("/dev/fuse"))
            File.SetUnixFileMode("/dev/fuse", (UnixFileMode)0b110_110_110);
        int uid = int.Parse(RunProcess("id", ["-u", TestUser], null, null).Stdout.Trim());
        int gid = int.Parse(RunProcess("id", ["-g", TestUser], null, null).Stdout.Trim());
        return (uid, gid);
    }
}
