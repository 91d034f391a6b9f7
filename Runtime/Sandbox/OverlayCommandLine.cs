using FlatImage.Runtime.Config;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The command lines of the FUSE overlay daemons that stack the writable layer on the read-only
/// view (the merged layer mount, with the scaffold of bind mount points above it). Both run in the foreground (-f) so the launcher owns the process: its exit is
/// the overlay's end, and killing it is how a stuck overlay is stopped.
/// </summary>
public static class OverlayCommandLine
{
    /// <param name="lowerTopFirst">read-only directories, top first (overlayfs order).</param>
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
            // to the caller they map to root inside (docs/architecture.md, checked by hand).
            OverlayKind.Overlayfs =>
            [
                program, "-f", "-o",
                $"lowerdir={string.Join(':', lowerTopFirst.Select(Escape))},upperdir={Escape(upper)},workdir={Escape(work)}"
                    + (squashTo is { } s ? $",squash_to_uid={s.Uid},squash_to_gid={s.Gid}" : "") + other,
                merged,
            ],
            // unionfs-fuse(8): cow = copy-on-write into the first (RW) branch; hide_meta_files keeps its
            // .unionfs bookkeeping out of the guest's sight. It reads no overlay whiteouts in its
            // branches, and needs none: the merged layer mount has applied them already.
            OverlayKind.Unionfs =>
            [
                program, "-f", "-o", "cow,hide_meta_files" + other,
                string.Join(':', new[] { $"{upper}=RW" }.Concat(lowerTopFirst.Select(l => $"{l}=RO"))),
                merged,
            ],
            _ => throw new ArgumentOutOfRangeException(nameof(kind), "the bwrap overlay has no daemon"),
        };
    }

    /// <summary>fuse-overlayfs splits its options on ',' and lowerdir on ':'; both are escaped with '\'.</summary>
    private static string Escape(string path) => path.Replace("\\", "\\\\").Replace(",", "\\,").Replace(":", "\\:");
}
