using FlatImage.Runtime.Config;
using FlatImage.Runtime.Paths;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The program's environment, in the three steps of docs/cli.md §6: the launcher's environment (host
/// variables, minus those that lead to host services without the matching permission, plus the
/// launcher's own <c>FIM_*</c> rows), then the expanded fim-env variables, then the forced rows.
/// </summary>
public static class SandboxEnvironment
{
    /// <summary>Variables only the launcher uses; they never reach the program.</summary>
    private static readonly HashSet<string> LauncherPrivate = ["_FIM_IMAGE", "FIM_TEST_STALL_CONFIG_WRITE", "FIM_SELFTEST", Portal.PortalDaemon.InitVariable];

    public static Dictionary<string, string> Build(
        IReadOnlyDictionary<string, string> host,
        IReadOnlyDictionary<string, string> launcherRows,
        IReadOnlyDictionary<string, string> fimEnv,
        Identity identity,
        Permissions granted,
        IReadOnlyDictionary<string, string> permissionVariables)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in host)
            if (HostServices.MayPass(k, granted) && !LauncherPrivate.Contains(k))
                env[k] = v;
        foreach (var (k, v) in launcherRows)
            env[k] = v;
        foreach (var (k, v) in fimEnv)
            env[k] = v;

        env["USER"] = identity.User;
        env["HOME"] = identity.Home;
        env["SHELL"] = identity.Shell;
        env["TERM"] = "xterm";
        env["XDG_RUNTIME_DIR"] = host.GetValueOrDefault("XDG_RUNTIME_DIR") is { Length: > 0 } x ? x : $"/run/user/{Native.Interop.Unistd.getuid()}";
        foreach (var (k, v) in permissionVariables)
            env[k] = v;
        return env;
    }

    /// <summary>The launcher's rows (step L of docs/cli.md §6): build facts, paths, PATH and LD_LIBRARY_PATH.</summary>
    public static Dictionary<string, string> LauncherRows(string imagePath, long configOffset, InstancePaths paths, string distribution, IReadOnlyDictionary<string, string> host)
    {
        string hostPath = host.GetValueOrDefault("PATH") ?? "";
        string ldPath = "/usr/lib/x86_64-linux-gnu:/usr/lib/i386-linux-gnu" + (host.GetValueOrDefault("LD_LIBRARY_PATH") is { Length: > 0 } l ? ":" + l : "");
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = $"{paths.AppBin}:{hostPath}:/sbin:/usr/sbin:/usr/local/sbin:/bin:/usr/bin:/usr/local/bin:{paths.AppSbin}",
            ["LD_LIBRARY_PATH"] = ldPath,
            ["BASHRC_FILE"] = paths.Bashrc,
            ["FIM_VERSION"] = BuildInfo.Version,
            ["FIM_COMMIT"] = BuildInfo.Commit,
            ["FIM_DIST"] = distribution,
            ["FIM_TIMESTAMP"] = BuildInfo.Timestamp,
            ["FIM_BIN_SELF"] = imagePath,
            ["FIM_DIR_SELF"] = Path.GetDirectoryName(imagePath)!,
            ["FIM_OFFSET"] = configOffset.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["FIM_PID"] = paths.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["FIM_DIR_GLOBAL"] = paths.Global,
            ["FIM_DIR_APP"] = paths.App,
            ["FIM_DIR_APP_BIN"] = paths.AppBin,
            ["FIM_DIR_APP_SBIN"] = paths.AppSbin,
            ["FIM_DIR_INSTANCE"] = paths.Instance,
            ["FIM_DIR_RUNTIME"] = Path.Combine(paths.Global, "run"),
            ["FIM_DIR_DATA"] = paths.DataDirectory,
            ["FIM_DIR_LAYERS"] = paths.ManagedLayers,
        };
    }
}
