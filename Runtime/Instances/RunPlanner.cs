using System.Collections;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Paths;
using FlatImage.Runtime.Portal;
using FlatImage.Runtime.Sandbox;
using FlatImage.Runtime.Tools;


namespace FlatImage.Runtime.Instances;

/// <summary>What the user asked to run: fim-exec/fim-root (a command) or the default boot (the stored program plus arguments).</summary>
public sealed record RunRequest(bool AsRoot, IReadOnlyList<string> Command, bool FromBoot);

/// <summary>Turns a run request and the image's configuration into a <see cref="RunPlan"/> (docs/cli.md §3.1, §3.2, §6–§9).</summary>
public static class RunPlanner
{
    /// <param name="instanceLock">the lock proving this instance alive; whoever runs the plan owns it (InstanceActor).</param>
    /// <param name="environmentSet">
    /// called once the planner has made its last change to the C environment, about halfway
    /// through: from then on other threads may read it (getenv) while planning goes on, so the
    /// caller can start work that needs no plan (the actor system) beside the rest of it.
    /// </param>
    public static RunPlan Plan(string imagePath, string launcherPath, string runtimeRoot, RunRequest request, Action<string> warn,
        out InstanceLock instanceLock, Action? environmentSet = null)
    {
        var config = ConfigStore.Read(imagePath);
        long configOffset;
        using (var file = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read))
            configOffset = ImageLayout.Read(file).ConfigOffset;

        var paths = InstancePaths.For(runtimeRoot, DataDirectory.CreateForRun(imagePath), Environment.ProcessId);
        // The image's own tools come first (docs/cli.md §6); the host's are only the fallback of an
        // image without a bundle. Done before any lock is taken: a damaged bundle fails cleanly.
        bool bundled = ToolsExtractor.Ensure(imagePath, paths.App);
        string? bundledBin = bundled ? paths.AppBin : null;
        DeadInstances.Clean(paths.InstancesRoot);
        // Shared for the whole run, so that `fim-layer commit` sees this instance and refuses to
        // rewrite the writable layer under its overlay (docs/cli.md §13.5). Taken before the instance
        // lock: a run waits here while a commit is in progress.
        var dataLock = DataDirectoryLock.AcquireShared(paths.DataDirectory);
        try
        {
            instanceLock = InstanceLock.Acquire(paths.Instance);
        }
        catch
        {
            dataLock.Dispose();
            throw;
        }
        instanceLock.Hold(dataLock);
        CreateDirectories(paths);

        var host = HostEnvironment();
        var hostIdentity = HostIdentity.Current();
        bool asRoot = request.AsRoot || Environment.GetEnvironmentVariable("FIM_ROOT") == "1";

        // Expansion (§8) happens with the launcher's variables visible to wordexp, which reads the C environment.
        var launcherRows = SandboxEnvironment.LauncherRows(imagePath, configOffset, paths, config.Distribution, host);
        foreach (var (k, v) in launcherRows)
            Stdlib.setenv(k, v, 1);
        // setenv may free the environ block that a concurrent getenv is reading; nothing below changes it.
        environmentSet?.Invoke();
        var fimEnv = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in config.Environment)
        {
            string expanded = VariableExpander.Expand($"{key}={value}");
            int eq = expanded.IndexOf('=');
            if (eq > 0)
                fimEnv[expanded[..eq]] = expanded[(eq + 1)..];
        }

        string bwrap = HostTools.Find("bwrap", bundledBin) ?? throw new ToolMissingException("bwrap");
        if (hostIdentity.Uid != 0 && UserNamespaceSupport.Problem() is { } userns)
            throw new SandboxUnavailableException(userns);
        if (hostIdentity.Uid != 0)
            CheckFusermount();

        var overlay = EffectiveSettings.Overlay(config, out bool casefoldFallback);
        if (casefoldFallback)
            warn("casefold cannot be used with bwrap overlayfs, falling back to unionfs");
        if (overlay == OverlayKind.Bwrap
            && !KernelOverlayProbe.Works(bwrap, Path.GetDirectoryName(paths.WorkDirectory)!, hostIdentity.Uid != 0, warn))
            overlay = OverlayKind.Overlayfs;
        string? overlayProgram = overlay switch
        {
            OverlayKind.Overlayfs => HostTools.Find("fuse-overlayfs", bundledBin) ?? throw new ToolMissingException("fuse-overlayfs"),
            OverlayKind.Unionfs => HostTools.Find("unionfs", bundledBin) ?? HostTools.Find("unionfs-fuse", bundledBin) ?? throw new ToolMissingException("unionfs"),
            _ => null,
        };

        // docs/cli.md §9: the default shell is the bundled bash; an image without a bundle has only the guest's sh to offer.
        string? bundledBash = bundledBin is not null ? Path.Combine(bundledBin, "bash") : null;
        if (bundledBash is not null && !File.Exists(bundledBash))
            bundledBash = null;
        var identity = Identity.Resolve(asRoot, fimEnv, hostIdentity, bundledBash ?? "/bin/sh");
        File.WriteAllText(paths.Passwd, identity.PasswdLine() + "\n");
        var layers = LayerStack.Resolve(imagePath, warn);
        // Opened once for the whole run: planning reads the account files through them, and the
        // run's mount takes them over (LayerReaderSet); what is not taken is closed with the plan.
        var openedLayers = new LayerReaderSet(layers, new LayerReaderOptions());
        try
        {
            using var layerFiles = new LayerStackFiles(openedLayers);
            GuestAccounts.AddCallerEntries(paths.UpperDirectory, layerFiles, identity, hostIdentity.GroupName(identity.Gid) ?? identity.User, paths.DataDirectory);
            string ps1 = fimEnv.GetValueOrDefault("PS1") ?? $"[flatimage-{config.Distribution.ToLowerInvariant()}] \\W > ";
            File.WriteAllText(paths.Bashrc, $"export PS1=\"{ps1}\"\n");

            var userBinds = new List<SandboxMount>();
            foreach (var bind in config.Bindings.Values)
            {
                string src = VariableExpander.Expand(bind.Source), dst = VariableExpander.Expand(bind.Destination);
                if (!Path.IsPathRooted(src) || !Path.IsPathRooted(dst))
                {
                    warn($"Skipping bind '{bind.Source}' -> '{bind.Destination}': paths must be absolute after expansion");
                    continue;
                }
                if (SandboxMount.LeavesRoot(dst))
                {
                    warn($"Skipping bind '{bind.Source}' -> '{bind.Destination}': the destination leaves the container's root");
                    continue;
                }
                var kind = bind.Type switch { BindType.ReadWrite => SandboxMountKind.ReadWrite, BindType.Device => SandboxMountKind.Device, _ => SandboxMountKind.ReadOnly };
                userBinds.Add(new SandboxMount(kind, src, dst));
            }
            var (permissionMounts, permissionVars) = HostServices.Resolve(config.Permissions, identity, host.GetValueOrDefault, Path.Exists);
            // A home the sandbox's own /tmp (or /dev, /proc, /sys) hides, or one bound from the host, is not made.
            if (!SandboxMount.AnyAt(userBinds.Concat(permissionMounts), identity.Home)
                && !BwrapCommandLine.HiddenByBaselineMounts(identity.Home))
                GuestAccounts.EnsureHome(paths.UpperDirectory, layerFiles, identity, hostIdentity.Uid == 0 ? (identity.Uid, identity.Gid) : null, paths.DataDirectory);
            var env = SandboxEnvironment.Build(host, launcherRows, fimEnv, identity, config.Permissions, permissionVars);
            // Portal plumbing, forced last (docs/cli.md §6): the daemon's socket and the host's, which exists only with the portal permission.
            env[PortalDaemon.DaemonSocketVariable] = paths.PortalDaemonSocket;
            env[PortalDaemon.DispatcherSocketVariable] = paths.PortalDispatcherSocket;
            string? portalInit = PortalProgram.Locate(paths, bundled);

            IReadOnlyList<string> command = request.FromBoot
                ? [config.Boot.Program.Length == 0 ? "bash" : VariableExpander.Expand(config.Boot.Program), .. config.Boot.Args, .. request.Command]
                : request.Command;

            return new RunPlan(
                imagePath, launcherPath, paths, layers, overlay, overlayProgram, bwrap,
                identity, hostIdentity, config, env, userBinds, permissionMounts, command,
                request.FromBoot && config.Boot.Program.Length == 0, Environment.CurrentDirectory, portalInit)
            {
                Origin = request.FromBoot ? "fim" : request.AsRoot ? "fim-root" : "fim-exec",
                BundledBin = bundledBin,
                BundledBash = bundledBash,
                OpenedLayers = openedLayers,
                StartProfilePath = StartProfilePath(paths),
            };
        }
        catch
        {
            openedLayers.Dispose();
            throw;
        }
    }

    /// <summary>
    /// FIM_PROFILE=1 (exactly): the run records its start profile into the data directory. A
    /// profile left by an earlier recording goes now, so the file that is there after the run is
    /// this run's record or nothing (docs/cli.md §7).
    /// </summary>
    private static string? StartProfilePath(InstancePaths paths)
    {
        if (Environment.GetEnvironmentVariable("FIM_PROFILE") != "1")
            return null;
        string path = Path.Combine(paths.DataDirectory, Layers.StartProfile.FileName);
        File.Delete(path);
        return path;
    }

    /// <summary>
    /// The one host program an unprivileged run needs besides the kernel: mounting FUSE takes
    /// privilege, which only a setuid-root fusermount3 lends (fusermount3(1)). A copy without the
    /// bit fails later with a vague "Operation not permitted"; say it here in one line.
    /// </summary>
    private static void CheckFusermount()
    {
        string fusermount = FuseMount.FindFusermount() ?? throw new ToolMissingException("fusermount3");
        const uint S_ISUID = 0x800;
        if (Native.Io.FileStatus.TryStat(System.Text.Encoding.UTF8.GetBytes(fusermount), out var st) == 0 && (st.Uid != 0 || (st.Mode & S_ISUID) == 0))
            throw new SandboxUnavailableException($"{fusermount} is not setuid root; an unprivileged user needs it to mount FUSE filesystems (install the fuse3 package)");
    }

    private static void CreateDirectories(InstancePaths paths)
    {
        RuntimeDirectory.CreateChild(paths.Logs);
        RuntimeDirectory.CreateChild(paths.PortalDaemonDirectory);
        RuntimeDirectory.CreateChild(paths.PortalDispatcherDirectory);
        // The writable layer's root keeps 0755: overlays show its mode as the guest's "/", which
        // the image's other users must be able to traverse. The data directory above it keeps others out.
        RuntimeDirectory.EnsureOwned(paths.UpperDirectory, "writable layer", RuntimeDirectory.OwnedDirectory.NotWritableByOthers);
        RuntimeDirectory.EnsureOwned(Path.GetDirectoryName(paths.WorkDirectory)!, "work directory", RuntimeDirectory.OwnedDirectory.Tightened);
        RuntimeDirectory.EnsureOwned(paths.WorkDirectory, "work directory", RuntimeDirectory.OwnedDirectory.Private);
    }

    private static Dictionary<string, string> HostEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in Environment.GetEnvironmentVariables())
            env[(string)e.Key] = (string?)e.Value ?? "";
        return env;
    }
}
