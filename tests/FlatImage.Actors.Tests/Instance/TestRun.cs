using System.Globalization;
using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Paths;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Actors.Tests.Instance;

/// <summary>
/// The directories and the <see cref="RunPlan"/> of one real run under a fresh temporary directory:
/// a busybox layer (made with <see cref="LayerWriter"/>), the host's fuse-overlayfs and bwrap, root's
/// identity. It does by hand the directory work RunPlanner does for an image, without an image or
/// the published launcher, and looks at what a run leaves: mounts below it and child processes.
/// </summary>
internal sealed class TestRun : IDisposable
{
    /// <summary>What <c>/etc/marker</c> holds in the busybox layer.</summary>
    public const string Marker = "from the layer\n";

    private static readonly Lazy<string> BusyboxLayer = new(BuildBusyboxLayer);

    public string Root { get; }
    public InstancePaths Paths { get; }

    public TestRun()
    {
        Root = Directory.CreateTempSubdirectory("fim-actor-run-").FullName;
        Paths = InstancePaths.For(Path.Combine(Root, "runtime"), Path.Combine(Root, "data"), Environment.ProcessId);
        foreach (string dir in new[] { Paths.Logs, Paths.PortalDaemonDirectory, Paths.PortalDispatcherDirectory, Paths.UpperDirectory, Paths.WorkDirectory })
            Directory.CreateDirectory(dir);
    }

    /// <summary>
    /// A plan that runs <paramref name="command"/> as root on the busybox layer (or <paramref name="layer"/>)
    /// under fuse-overlayfs (or <paramref name="overlayProgram"/>): bwrap 0.8 on this host has no kernel overlay.
    /// </summary>
    public RunPlan Plan(IReadOnlyList<string> command, string? layer = null, string overlayProgram = "/usr/bin/fuse-overlayfs") => new(
        ImagePath: Path.Combine(Root, "app.flatimage"),
        // The janitor stand-in: cat reads the janitor's pipe to its end and does nothing, so whatever
        // these tests find unmounted, the actors unmounted themselves (the real janitor is the
        // published launcher, which the end-to-end tests run).
        LauncherPath: "/bin/cat",
        Paths: Paths,
        Layers: [new LayerLocation(layer ?? BusyboxLayer.Value, 0, -1)],
        Overlay: OverlayKind.Overlayfs,
        OverlayProgram: overlayProgram,
        Bwrap: "/usr/bin/bwrap",
        Identity: new Identity(0, 0, "root", "/root", "/bin/sh"),
        Host: HostIdentity.Current(),
        Config: ImageConfig.Default with { Overlay = OverlayKind.Overlayfs },
        Environment: new Dictionary<string, string> { ["PATH"] = "/bin:/usr/bin" },
        UserBinds: [],
        PermissionMounts: [],
        Command: command,
        CommandFromBoot: false,
        HostWorkingDirectory: "/",
        PortalInit: null);

    /// <summary>The instance lock a run hands to InstanceActor.</summary>
    public InstanceLock Lock() => InstanceLock.Acquire(Paths.Instance);

    /// <summary>Mount points below <see cref="Root"/>, in mount table order (the order they were mounted in).</summary>
    public List<string> Mounts() => File.ReadLines("/proc/self/mountinfo")
        .Select(l => l.Split(' ')[4])
        .Where(m => m.StartsWith(Root + "/", StringComparison.Ordinal))
        .ToList();

    /// <summary>The pids whose parent is this process, each with its command name.</summary>
    public static Dictionary<int, string> Children()
    {
        var children = new Dictionary<int, string>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue; // ended while we looked
            }
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
            int close = stat.LastIndexOf(')');
            string[] rest = stat[(close + 2)..].Split(' ');
            if (int.Parse(rest[1], CultureInfo.InvariantCulture) == Environment.ProcessId)
                children[pid] = stat[(stat.IndexOf('(') + 1)..close];
        }
        return children;
    }

    public void Dispose()
    {
        // A failed test may leave mounts: detach them deepest first so the directory can go.
        foreach (string mount in Mounts().AsEnumerable().Reverse())
            System.Diagnostics.Process.Start("umount", ["-l", mount])!.WaitForExit();
        Directory.Delete(Root, recursive: true);
    }

    private static string BuildBusyboxLayer()
    {
        string tree = Directory.CreateTempSubdirectory("fim-actor-busybox-").FullName;
        string layer = Path.Combine(Path.GetTempPath(), $"fim-actor-busybox-{Guid.NewGuid():N}.layer");
        try
        {
            BusyboxTree.Write(tree);
            File.WriteAllText(Path.Combine(tree, "etc", "marker"), Marker);
            LayerWriter.Create(tree, layer, new LayerWriterOptions());
        }
        finally
        {
            Directory.Delete(tree, recursive: true);
        }
        // One layer for the whole test process, removed when it exits.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => File.Delete(layer);
        return layer;
    }
}
