using System.Text;

namespace FlatImage.Runtime.Layers;

/// <summary>
/// Reads a writable layer (the upper directory of the kernel overlay, fuse-overlayfs or
/// unionfs-fuse) into the tree a committed layer is built from. The directory is scanned exactly as <c>fim-layer create</c> scans
/// one (<see cref="LayerSourceScanner"/>); then the overlay's own bookkeeping is turned into what
/// our format records natively, so the new layer hides the same lower paths the overlay hid:
/// <list type="bullet">
/// <item>a character device 0/0 (what the kernel overlay and fuse-overlayfs write, as root and in a
/// user namespace alike), a <c>.wh.&lt;name&gt;</c> file (fuse-overlayfs' fallback where it cannot mknod)
/// or an empty file carrying <c>user.overlay.whiteout</c>/<c>trusted.overlay.whiteout</c> (the
/// kernel's "xwhiteout") is a deleted lower path: a whiteout named <c>&lt;name&gt;</c>;</item>
/// <item>a directory with <c>trusted.overlay.opaque</c> or <c>user.overlay.opaque</c> (the kernel
/// overlay: trusted.* when mounted by real root, user.* in a user namespace) or
/// <c>user.fuseoverlayfs.opaque</c> set to <c>y</c>, or holding a <c>.wh..wh..opq</c> file or
/// <c>.wh..opq</c> device, may have replaced a lower directory: it is opaque;</item>
/// <item>unionfs-fuse's <c>.unionfs-fuse/&lt;path&gt;_HIDDEN~</c> (and <c>.unionfs/</c>) entries are whiteouts at &lt;path&gt;.</item>
/// </list>
/// Every other <c>trusted.overlay.*</c>, <c>user.overlay.*</c> and <c>user.fuseoverlayfs.*</c> attribute is
/// the overlay's bookkeeping about the upper copy (origin, impure, nlink), not content, and is dropped.
/// A directory stays opaque only where the lower stack has something there for it to hide: fuse-overlayfs
/// marks every directory it creates, and an opaque mark recorded over nothing would hide whatever a later
/// layer puts below it (the second of two commits that both add files to a new <c>/d</c> would hide the first's).
/// Everything else in the upper directory is content, including entries whose only change is
/// metadata (mode, owner, times, xattrs): the overlays copy such an entry up whole, and the layer
/// records it as it is.
/// The markers themselves never reach the layer. In an unprivileged run the overlay writes files
/// as the caller (fuse-overlayfs squashes root to the caller's ids), so the caller's uid and gid
/// are recorded as root again (docs/architecture.md, Writable overlay): the layer keeps the owners the guest saw.
/// </summary>
public static class OverlayUpperScanner
{
    private static readonly byte[] WhiteoutPrefix = ".wh."u8.ToArray();
    private static readonly byte[] OpaqueMarker = ".wh..wh..opq"u8.ToArray();
    private static readonly byte[] OpaqueDeviceMarker = ".wh..opq"u8.ToArray();
    private static readonly byte[] UnionfsHidden = "_HIDDEN~"u8.ToArray();
    private static readonly string[] UnionfsMetaDirectories = [".unionfs-fuse", ".unionfs"];
    private static readonly string[] OpaqueXattrs = ["trusted.overlay.opaque", "user.overlay.opaque", "user.fuseoverlayfs.opaque"];

    /// <param name="upperDir">the writable layer (<c>&lt;data dir&gt;/root</c>).</param>
    /// <param name="callerUid">the committing user's uid; when not 0, recorded as 0 (likewise the gid).</param>
    /// <param name="skipped">receives the paths that could not go into the layer (sockets, unreadable directories).</param>
    /// <param name="lowerDirectory">
    /// the lower stack's directory at a path (names from the root), or null where there is none. unionfs-fuse
    /// records a deleted <c>/a/b</c> without copying <c>/a</c> up; the layer needs <c>/a</c> to hold the
    /// whiteout, with the lower directory's attributes so that nothing else about <c>/a</c> changes.
    /// </param>
    /// <param name="lowerHasEntries">whether the lower stack shows a non-empty directory at a path (names from the root); null: every opaque mark is kept.</param>
    /// <exception cref="NotSupportedException">the upper directory holds kernel overlay redirects or metadata-only copies, whose content lives in the lower layers.</exception>
    public static LayerSourceNode Scan(string upperDir, uint callerUid, uint callerGid, List<string> skipped, CancellationToken ct,
        Func<IReadOnlyList<byte[]>, LayerSourceNode?>? lowerDirectory = null, Func<IReadOnlyList<byte[]>, bool>? lowerHasEntries = null)
    {
        var root = LayerSourceScanner.Scan(upperDir, skipped, ct);
        foreach (string meta in UnionfsMetaDirectories)
        {
            int index = root.Children.FindIndex(c => c.Key.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(meta)));
            if (index < 0)
                continue;
            var metaDir = root.Children[index].Value;
            root.Children.RemoveAt(index);
            if (metaDir.Type == LayerFileType.Directory)
                AddUnionfsWhiteouts(metaDir, root, [], lowerDirectory);
        }
        Translate(root, callerUid, callerGid, new HashSet<LayerSourceNode>(ReferenceEqualityComparer.Instance), []);
        if (lowerHasEntries is not null)
            DropOpaqueMarksOverNothing(root, [], lowerHasEntries);
        return root;
    }

    private static void DropOpaqueMarksOverNothing(LayerSourceNode dir, List<byte[]> path, Func<IReadOnlyList<byte[]>, bool> lowerHasEntries)
    {
        if (dir.Opaque && !lowerHasEntries(path))
            dir.Opaque = false;
        foreach (var (name, child) in dir.Children)
        {
            if (child.Type != LayerFileType.Directory)
                continue;
            path.Add(name);
            DropOpaqueMarksOverNothing(child, path, lowerHasEntries);
            path.RemoveAt(path.Count - 1);
        }
    }

    private static void Translate(LayerSourceNode dir, uint callerUid, uint callerGid, HashSet<LayerSourceNode> seen, List<byte[]> path)
    {
        MapOwner(dir, callerUid, callerGid);
        if (dir.Xattrs.Any(x => IsKernelOverlayXattr(x.Key, "metacopy") || IsKernelOverlayXattr(x.Key, "redirect")))
            throw new NotSupportedException($"'/{string.Join('/', path.Select(Encoding.UTF8.GetString))}' is a metadata-only copy or a redirect of the kernel overlay, whose content stays in the lower layers (overlay mounted with metacopy=on or redirect_dir=on)");
        bool opaque = dir.Type == LayerFileType.Directory && dir.Xattrs.RemoveAll(x => IsOpaqueXattr(x.Key, x.Value)) > 0;
        // Other overlay bookkeeping xattrs (origin, impure, nlink, fuse-overlayfs' override_stat)
        // describe the upper copy, not the file: they must not reappear on a lower layer.
        dir.Xattrs.RemoveAll(x => IsOverlayXattr(x.Key));
        if (dir.Type != LayerFileType.Directory)
            return;
        if (opaque)
            dir.Opaque = true;
        var children = dir.Children.ToList();
        dir.Children.Clear();
        var whiteouts = new List<byte[]>();
        foreach (var (name, child) in children)
        {
            if (name.AsSpan().SequenceEqual(OpaqueMarker) || name.AsSpan().SequenceEqual(OpaqueDeviceMarker))
            {
                dir.Opaque = true;
                continue;
            }
            if (name.AsSpan().StartsWith(WhiteoutPrefix) && name.Length > WhiteoutPrefix.Length)
            {
                whiteouts.Add(name[WhiteoutPrefix.Length..]);
                continue;
            }
            if ((child.Type == LayerFileType.CharDevice && child.Rdev == 0)
                || (child.Type == LayerFileType.Regular && child.Size == 0 && child.Xattrs.Any(x => IsKernelOverlayXattr(x.Key, "whiteout"))))
            {
                whiteouts.Add(name);
                continue;
            }
            dir.Children.Add(new(name, child));
            if (seen.Add(child))
            {
                path.Add(name);
                Translate(child, callerUid, callerGid, seen, path);
                path.RemoveAt(path.Count - 1);
            }
        }
        // A real entry wins over a stale marker of the same name (it was re-created after the delete).
        foreach (byte[] name in whiteouts)
            if (!dir.Children.Any(c => c.Key.AsSpan().SequenceEqual(name)))
                dir.Children.Add(new(name, LayerSourceNode.NewWhiteout()));
    }

    private static void MapOwner(LayerSourceNode node, uint callerUid, uint callerGid)
    {
        if (callerUid == 0)
            return;
        if (node.Uid == callerUid)
            node.Uid = 0;
        if (node.Gid == callerGid)
            node.Gid = 0;
    }

    private static bool IsOpaqueXattr(byte[] name, byte[] value)
    {
        string n = Encoding.UTF8.GetString(name);
        return OpaqueXattrs.Contains(n) && value.Length > 0 && value[0] == (byte)'y';
    }

    private static bool IsKernelOverlayXattr(byte[] name, string key)
    {
        string n = Encoding.UTF8.GetString(name);
        return n == "trusted.overlay." + key || n == "user.overlay." + key;
    }

    private static bool IsOverlayXattr(byte[] name)
    {
        string n = Encoding.UTF8.GetString(name);
        return n.StartsWith("trusted.overlay.", StringComparison.Ordinal) || n.StartsWith("user.fuseoverlayfs.", StringComparison.Ordinal)
            || n.StartsWith("user.overlay.", StringComparison.Ordinal);
    }

    /// <summary>unionfs-fuse (cow mode) mirrors each deleted path as <c>&lt;meta&gt;/&lt;path&gt;_HIDDEN~</c>.</summary>
    private static void AddUnionfsWhiteouts(LayerSourceNode metaDir, LayerSourceNode target, List<byte[]> path,
        Func<IReadOnlyList<byte[]>, LayerSourceNode?>? lowerDirectory)
    {
        foreach (var (name, child) in metaDir.Children)
        {
            if (name.AsSpan().EndsWith(UnionfsHidden) && name.Length > UnionfsHidden.Length)
            {
                byte[] hidden = name[..^UnionfsHidden.Length];
                var recreated = target.Children.FirstOrDefault(c => c.Key.AsSpan().SequenceEqual(hidden)).Value;
                if (recreated is null)
                    target.Children.Add(new(hidden, LayerSourceNode.NewWhiteout()));
                else if (recreated.Type == LayerFileType.Directory)
                    recreated.Opaque = true; // deleted, then made again: nothing of the lower one shows
                continue;
            }
            if (child.Type != LayerFileType.Directory)
                continue;
            var existing = target.Children.FirstOrDefault(c => c.Key.AsSpan().SequenceEqual(name)).Value;
            List<byte[]> childPath = [.. path, name];
            if (existing is null)
            {
                // Not copied up: the directory as the lower layers have it, to carry the whiteouts.
                existing = lowerDirectory?.Invoke(childPath);
                if (existing is null)
                    continue; // no such lower directory: nothing below it to hide
                target.Children.Add(new(name, existing));
            }
            if (existing.Type != LayerFileType.Directory)
                continue;
            AddUnionfsWhiteouts(child, existing, childPath, lowerDirectory);
        }
    }
}
