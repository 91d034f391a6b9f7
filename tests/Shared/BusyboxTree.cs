using System.Diagnostics;

namespace FlatImage.Tests.Shared;

/// <summary>
/// A minimal guest root made from the host's busybox-static: <c>bin/busybox</c> with a symlink per
/// applet and the directories a shell and bwrap expect. No libc is needed, so any test can turn it
/// into a layer and run it in a sandbox.
/// </summary>
internal static class BusyboxTree
{
    public const string Busybox = "/bin/busybox";

    /// <summary>Writes the tree at <paramref name="tree"/> (created); a missing busybox is a failure with its reason.</summary>
    public static void Write(string tree)
    {
        if (!File.Exists(Busybox))
            throw new FileNotFoundException("busybox-static is not installed (apt-get install busybox-static)", Busybox);
        foreach (string d in new[] { "bin", "etc", "tmp", "root", "home", "usr/bin", "var/tmp" })
            Directory.CreateDirectory(Path.Combine(tree, d));
        File.Copy(Busybox, Path.Combine(tree, "bin", "busybox"));
        var list = Process.Start(new ProcessStartInfo(Busybox, "--list") { RedirectStandardOutput = true })!;
        string applets = list.StandardOutput.ReadToEnd();
        list.WaitForExit();
        foreach (string applet in applets.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(a => a != "busybox"))
            File.CreateSymbolicLink(Path.Combine(tree, "bin", applet), "busybox");
    }
}
