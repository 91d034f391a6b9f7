using System.Diagnostics;
using FlatImage.Native.Interop;

namespace FlatImage.Native.Tests.Fuse;

/// <summary>
/// tests/FuseProbe run as the unprivileged user fimtest through setpriv(1), serving
/// MemoryFileSystem.Sample at a mount point it owns via fusermount3.
/// </summary>
public sealed class FuseProbeProcess : IDisposable
{
    public const string User = "fimtest";

    private readonly Process _process;

    private FuseProbeProcess(Process process, string mountpoint, string ready)
    {
        _process = process;
        Mountpoint = mountpoint;
        var f = ready.Split(' ');
        DeviceNumber = ulong.Parse(f[1]);
        ConnectionId = uint.Parse(f[2]);
        WatchdogPid = int.Parse(f[3]);
        AllowOther = bool.Parse(f[4]);
        ClonedWorkers = int.Parse(f[5]);
    }

    public string Mountpoint { get; }
    public ulong DeviceNumber { get; }
    public uint ConnectionId { get; }
    public int WatchdogPid { get; }
    public bool AllowOther { get; }
    public int ClonedWorkers { get; }
    public int Pid => _process.Id;
    public Process Process => _process;

    /// <summary>Creates fimtest if missing (useradd -M -r, idempotent) and lets it open /dev/fuse.</summary>
    public static (uint Uid, uint Gid) EnsureUser()
    {
        if (Tool.Run("id", "-u", User).ExitCode != 0)
            Tool.Out("useradd", "-M", "-r", "-s", "/usr/sbin/nologin", User);
        // fusermount3 opens /dev/fuse with the caller's rights; this machine ships it 0600.
        Tool.Out("chmod", "0666", "/dev/fuse");
        return (uint.Parse(Tool.Out("id", "-u", User).Trim()), uint.Parse(Tool.Out("id", "-g", User).Trim()));
    }

    /// <summary>A fresh directory owned by fimtest (fusermount3 wants write access to the mount point).</summary>
    public static string CreateMountpoint()
    {
        var dir = Directory.CreateTempSubdirectory("fim-user-").FullName;
        Tool.Out("chown", $"{User}:", dir);
        return dir;
    }

    /// <summary>Runs a command as fimtest.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunAsUser(params string[] command)
        => Tool.Run("setpriv", [$"--reuid={User}", $"--regid={User}", "--clear-groups", "--", .. command]);

    public static FuseProbeProcess Start(string mountpoint, string? fault = null)
    {
        var probe = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "FuseProbe", "bin",
            new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name, "net10.0", "FuseProbe.dll"));
        if (!File.Exists(probe)) throw new FileNotFoundException("build tests/FuseProbe first", probe);
        var psi = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/tmp",
        };
        foreach (var a in new[] { $"--reuid={User}", $"--regid={User}", "--clear-groups", "--", "/usr/bin/dotnet", probe, mountpoint })
            psi.ArgumentList.Add(a);
        psi.Environment["HOME"] = "/tmp";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (fault is not null) psi.Environment["FIM_TEST_FUSE_FAULT"] = fault;
        var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var line = p.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is null || !line.Result.StartsWith("READY ", StringComparison.Ordinal))
        {
            if (!p.HasExited) p.Kill();
            p.WaitForExit();
            throw new InvalidOperationException($"FuseProbe did not get ready: {line.Result} {stderr.Result}");
        }
        return new FuseProbeProcess(p, mountpoint, line.Result);
    }

    public void Signal(int signal)
    {
        if (FlatImage.Native.Interop.Signal.kill(Pid, signal) != 0) throw ErrnoException.FromLastError("kill");
    }

    public string ReadRest() => _process.StandardOutput.ReadToEnd();

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
