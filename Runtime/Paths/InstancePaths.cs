namespace FlatImage.Runtime.Paths;

/// <summary>
/// The directories of one run (docs/cli.md §10, docs/architecture.md "Runtime directories"): below the private
/// runtime root, <c>app/&lt;build-id&gt;/</c> for this launcher build and <c>instance/&lt;pid&gt;/</c> for
/// this run; next to the image, the data directory with the writable layer.
/// </summary>
public sealed record InstancePaths(string Global, string App, string Instance, string DataDirectory, int Pid)
{
    public string AppBin => Path.Combine(App, "bin");
    public string AppSbin => Path.Combine(App, "sbin");
    /// <summary>The libraries and dynamic loader of the bundled tools (their PT_INTERP names a file here).</summary>
    public string AppLib => Path.Combine(App, "lib");
    /// <summary>The extracted tools bundle, bound read-only at the same paths inside every sandbox.</summary>
    public IReadOnlyList<string> ToolDirectories => [AppBin, AppSbin, AppLib];
    public string InstancesRoot => Path.Combine(App, "instance");
    public string Logs => Path.Combine(Instance, "logs");
    public string Passwd => Path.Combine(Instance, "passwd");
    public string Bashrc => Path.Combine(Instance, "bashrc");
    public string Portal => Path.Combine(Instance, "portal");
    /// <summary>Where the guest's <c>fim_portal</c> daemon listens (host → guest, <c>fim-instance exec</c>).</summary>
    public string PortalDaemonDirectory => Path.Combine(Portal, "daemon");
    public string PortalDaemonSocket => Path.Combine(PortalDaemonDirectory, "socket");
    /// <summary>Where the launcher's PortalHostActor listens (guest → host, <c>fim_portal</c>).</summary>
    public string PortalDispatcherDirectory => Path.Combine(Portal, "dispatcher");
    public string PortalDispatcherSocket => Path.Combine(PortalDispatcherDirectory, "socket");
    /// <summary>Merged root of the FUSE overlays.</summary>
    public string MergedRoot => Path.Combine(Instance, "mount");
    /// <summary>Where the run's read-only layers are served, merged into one tree.</summary>
    public string LayersMountPoint => Path.Combine(Instance, "layers");
    /// <summary>The casefold view of <see cref="MergedRoot"/> (the data directory's <c>casefold/</c>), one per run like the work dir.</summary>
    public string CasefoldMountPoint => Path.Combine(DataDirectory, "casefold", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    /// <summary>The writable layer: every uncommitted change, kept across runs.</summary>
    public string UpperDirectory => Path.Combine(DataDirectory, "root");
    /// <summary>The overlay work directory of this run (same filesystem as the upper directory).</summary>
    public string WorkDirectory => Path.Combine(DataDirectory, "work", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    public string ManagedLayers => Path.Combine(DataDirectory, "layers");

    public static InstancePaths For(string runtimeRoot, string dataDirectory, int pid) => new(
        runtimeRoot,
        Path.Combine(runtimeRoot, "app", BuildInfo.BuildId),
        Path.Combine(runtimeRoot, "app", BuildInfo.BuildId, "instance", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        dataDirectory,
        pid);
}
