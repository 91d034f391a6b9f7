using FlatImage.Runtime.Config;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The command lines of the FUSE overlay daemons that merge the read-only layers with the
/// writable layer. Both run in the foreground (-f) so the launcher owns the process: its exit is
/// the overlay's end, and killing it is how a stuck overlay is stopped.
/// </summary>
public static class OverlayCommandLine
{
    /// <param name="lowerTopFirst">read-only layer mount points, top layer first (overlayfs order).</param>
    /// <param name="squashTo">for an unprivileged caller: present every file as owned by this uid/gid.</param>
    /// <param name="allowOther">
    /// FUSE's allow_other: without it the kernel lets only the mounting uid through, so a root
    /// caller's guest could not reach its own files as any other of its users (man-db's postinst
    /// runs mandb as 'man'). The mount point lies in the caller's private runtime directory, so no
    /// other host user reaches it either way.
    /// </param>
    public static List<string> Build(OverlayKind kind, string program, IReadOnlyList<string> lowerTopFirst, string upper, string work, string merged, (uint Uid, uint Gid)? squashTo, bool allowOther = false)
    {
        string other = allowOther ? ",allow_other" : "";
        return kind switch
        {
            // fuse-overlayfs(1). squash_to_uid/gid: in a single-uid user namespace, files the layers
            // record as owned by root would show as nobody and fim-root could not write them; squashed
            // to the caller they map to root inside (design.md, checked by hand).
            OverlayKind.Overlayfs =>
            [
                program, "-f", "-o",
                $"lowerdir={string.Join(':', lowerTopFirst.Select(Escape))},upperdir={Escape(upper)},workdir={Escape(work)}"
                    + (squashTo is { } s ? $",squash_to_uid={s.Uid},squash_to_gid={s.Gid}" : "") + other,
                merged,
            ],
            // unionfs-fuse(8): cow = copy-on-write into the first (RW) branch; hide_meta_files keeps its
            // .unionfs bookkeeping out of the guest's sight.
            OverlayKind.Unionfs =>
            [
                program, "-f", "-o", "cow,hide_meta_files" + other,
                string.Join(':', new[] { $"{upper}=RW" }.Concat(lowerTopFirst.Select(l => $"{l}=RO"))),
                merged,
            ],
            _ => throw new ArgumentOutOfRangeException(nameof(kind), "the bwrap overlay has no daemon"),
        };
    }

    /// <summary>
    /// fuse-overlayfs(1) with lower directories only, which mounts read-only: the read-only layers
    /// merged into one tree, their whiteouts and opaque directories applied. unionfs-fuse is given
    /// this as its one read-only branch, because it does not read overlay whiteouts (char 0/0
    /// devices, opaque xattrs) in its branches and would show the files a commit deleted as
    /// devices. (It does honour its own <c>.unionfs-fuse/&lt;path&gt;_HIDDEN~</c> markers in read-only
    /// branches, checked by hand with unionfs-fuse 1.0; serving those from the layer filesystem
    /// would save this hop but needs synthetic entries in every layer mount.)
    /// </summary>
    public static List<string> BuildReadOnlyMerge(string program, IReadOnlyList<string> lowerTopFirst, string merged, bool allowOther = false) =>
        [program, "-f", "-o", $"lowerdir={string.Join(':', lowerTopFirst.Select(Escape))}" + (allowOther ? ",allow_other" : ""), merged];

    /// <summary>fuse-overlayfs splits its options on ',' and lowerdir on ':'; both are escaped with '\'.</summary>
    private static string Escape(string path) => path.Replace("\\", "\\\\").Replace(",", "\\,").Replace(":", "\\:");
}
