using System.Text;
using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Layers;

/// <summary>
/// Walks a directory tree with lstat (symlinks are never followed) into <see cref="LayerSourceNode"/>s.
/// Names and paths stay raw bytes, so names that are not UTF-8 survive.
/// </summary>
internal static class LayerSourceScanner
{
    private const int EACCES = 13, ENOENT = 2, ENOTDIR = 20, EPERM = 1, ELOOP = 40;

    public static LayerSourceNode Scan(string sourceDir, List<string> skipped, CancellationToken ct)
    {
        byte[] rootPath = Encoding.UTF8.GetBytes(sourceDir.TrimEnd('/') is { Length: > 0 } t ? t : "/");
        var st = FileStatus.Lstat(rootPath);
        if (st.FileType != Stat.S_IFDIR)
            throw new ErrnoException(ENOTDIR, "create layer from", sourceDir);
        var root = FromStatus(st, rootPath);
        var rootNames = new List<byte[]>();
        int rootErrno = RawPathFiles.TryReadDirectory(rootPath, rootNames);
        if (rootErrno != 0)
            throw new ErrnoException(rootErrno, "open directory", sourceDir);
        // Hard links: every name of one (device, inode) becomes the same node.
        var links = new Dictionary<(ulong, ulong), LayerSourceNode>();
        // A directory's names are read when it is found, not when it is popped, so that one we
        // cannot enter is never added to its parent (spec §13.3: it is skipped).
        var stack = new Stack<(byte[] Path, LayerSourceNode Node, List<byte[]> Names)>();
        stack.Push((rootPath, root, rootNames));
        while (stack.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            var (dirPath, dir, names) = stack.Pop();
            foreach (byte[] name in names)
            {
                byte[] path = Join(dirPath, name);
                int errno = FileStatus.TryLstat(path, out var cst);
                if (errno == ENOENT)
                    continue; // deleted while we walked: it is not part of the tree
                if (errno != 0)
                    throw new ErrnoException(errno, "lstat", Encoding.UTF8.GetString(path));
                if (cst.FileType == Stat.S_IFSOCK)
                {
                    skipped.Add(Encoding.UTF8.GetString(path));
                    continue;
                }
                if (cst.FileType == Stat.S_IFDIR)
                {
                    var childNames = new List<byte[]>();
                    errno = RawPathFiles.TryReadDirectory(path, childNames);
                    if (errno is EACCES or EPERM or ENOENT or ENOTDIR or ELOOP)
                    {
                        skipped.Add(Encoding.UTF8.GetString(path));
                        continue;
                    }
                    if (errno != 0)
                        throw new ErrnoException(errno, "read directory", Encoding.UTF8.GetString(path));
                    var child = FromStatus(cst, path);
                    dir.Children.Add(new(name, child));
                    stack.Push((path, child, childNames));
                    continue;
                }
                if (cst.Nlink > 1 && links.TryGetValue((cst.Device, cst.Inode), out var existing))
                {
                    dir.Children.Add(new(name, existing));
                    continue;
                }
                var node = FromStatus(cst, path);
                if (cst.Nlink > 1)
                    links[(cst.Device, cst.Inode)] = node;
                dir.Children.Add(new(name, node));
            }
        }
        return root;
    }

    private static byte[] Join(byte[] dir, byte[] name)
    {
        bool slash = dir.Length > 0 && dir[^1] == (byte)'/';
        var path = new byte[dir.Length + (slash ? 0 : 1) + name.Length];
        dir.CopyTo(path, 0);
        if (!slash)
            path[dir.Length] = (byte)'/';
        name.CopyTo(path, path.Length - name.Length);
        return path;
    }

    private static LayerSourceNode FromStatus(in FileStatus st, byte[] path)
    {
        var type = st.FileType switch
        {
            Stat.S_IFREG => LayerFileType.Regular,
            Stat.S_IFDIR => LayerFileType.Directory,
            Stat.S_IFLNK => LayerFileType.Symlink,
            Stat.S_IFCHR => LayerFileType.CharDevice,
            Stat.S_IFBLK => LayerFileType.BlockDevice,
            _ => LayerFileType.Fifo,
        };
        var node = new LayerSourceNode(type)
        {
            Permissions = st.Mode & 0xFFF,
            Uid = st.Uid,
            Gid = st.Gid,
            MtimeSeconds = st.MtimeSeconds,
            MtimeNanoseconds = st.MtimeNanoseconds,
        };
        switch (type)
        {
            case LayerFileType.Regular:
                node.Size = st.Size;
                node.SourcePath = path;
                break;
            case LayerFileType.Symlink:
                node.SymlinkTarget = RawPathFiles.ReadLink(path);
                break;
            case LayerFileType.CharDevice or LayerFileType.BlockDevice:
                node.Rdev = st.Rdev;
                break;
        }
        node.Xattrs.AddRange(RawPathFiles.ListXattrs(path));
        return node;
    }
}
