using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Runtime.Layers;
using Xunit;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>Compares a source directory with what a <see cref="LayerReader"/> serves, path by path.</summary>
internal static class LayerTreeAssert
{
    public static int Equal(string sourceDir, LayerReader reader, ISet<string>? expectedMissing = null)
    {
        int compared = 0;
        var hardLinks = new Dictionary<(ulong, ulong), ulong>();
        var stack = new Stack<(byte[] Path, ulong Ino, string Rel)>();
        stack.Push((Encoding.UTF8.GetBytes(sourceDir), LayerReader.RootInode, "/"));
        byte[] buffer = new byte[300_000];
        byte[] chunk = new byte[70_001];
        while (stack.Count > 0)
        {
            var (dirPath, dirIno, rel) = stack.Pop();
            var names = new List<byte[]>();
            Assert.Equal(0, RawPathFiles.TryReadDirectory(dirPath, names));
            var expected = new List<byte[]>();
            foreach (var name in names)
            {
                string childRel = rel.TrimEnd('/') + "/" + Encoding.UTF8.GetString(name);
                byte[] path = [.. dirPath, (byte)'/', .. name];
                var st = FileStatus.Lstat(path);
                if (st.FileType == Stat.S_IFSOCK || (expectedMissing?.Contains(childRel) ?? false))
                {
                    Assert.Equal(2, reader.Lookup(dirIno, name, out _));
                    continue;
                }
                expected.Add(name);
                Assert.True(reader.Lookup(dirIno, name, out ulong ino) == 0, $"lookup {childRel}");
                Assert.True(reader.TryGetInode(ino, out var inode));
                Assert.True(st.Mode == inode.Mode, $"{childRel}: mode {Convert.ToString(st.Mode, 8)} vs {Convert.ToString(inode.Mode, 8)}");
                Assert.True(st.Uid == inode.Uid && st.Gid == inode.Gid, $"{childRel}: owner");
                Assert.True(st.MtimeSeconds == inode.MtimeSeconds && st.MtimeNanoseconds == inode.MtimeNanoseconds, $"{childRel}: mtime");
                if (st.FileType != Stat.S_IFDIR)
                {
                    Assert.True(st.Nlink == inode.Nlink, $"{childRel}: nlink {st.Nlink} vs {inode.Nlink}");
                    if (st.Nlink > 1)
                    {
                        if (hardLinks.TryGetValue((st.Device, st.Inode), out ulong seen))
                            Assert.True(seen == ino, $"{childRel}: hard link identity");
                        else
                            hardLinks[(st.Device, st.Inode)] = ino;
                    }
                }
                Assert.Equal(0, reader.ListXattr(ino, out var xattrs));
                var sourceXattrs = RawPathFiles.ListXattrs(path)
                    .Select(kv => Encoding.UTF8.GetString(kv.Key) + "=" + Convert.ToHexString(kv.Value)).Order().ToList();
                Assert.Equal(sourceXattrs, xattrs.Select(kv => kv.Key + "=" + Convert.ToHexString(kv.Value)).Order().ToList());
                switch (st.FileType)
                {
                    case Stat.S_IFDIR:
                        Assert.Equal(LayerFileType.Directory, inode.Type);
                        stack.Push((path, ino, childRel));
                        break;
                    case Stat.S_IFREG:
                        Assert.Equal(LayerFileType.Regular, inode.Type);
                        Assert.True(st.Size == inode.Size, $"{childRel}: size");
                        CompareContent(path, reader, ino, st.Size, buffer, chunk, childRel);
                        break;
                    case Stat.S_IFLNK:
                        Assert.Equal(LayerFileType.Symlink, inode.Type);
                        Assert.Equal(0, reader.ReadLink(ino, out var target));
                        Assert.Equal(RawPathFiles.ReadLink(path), target.ToArray());
                        break;
                    case Stat.S_IFCHR:
                        Assert.Equal(LayerFileType.CharDevice, inode.Type);
                        Assert.Equal(st.Rdev, inode.Rdev);
                        break;
                    case Stat.S_IFBLK:
                        Assert.Equal(LayerFileType.BlockDevice, inode.Type);
                        Assert.Equal(st.Rdev, inode.Rdev);
                        break;
                    case Stat.S_IFIFO:
                        Assert.Equal(LayerFileType.Fifo, inode.Type);
                        break;
                }
                compared++;
            }
            // The listing has exactly the expected names, sorted by bytes.
            expected.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
            var listed = new List<byte[]>();
            long lastIndex = -1;
            Assert.Equal(0, reader.ReadDirectory(dirIno, 0, (long index, ReadOnlySpan<byte> name, ulong ino, in LayerInode inode) =>
            {
                Assert.Equal(lastIndex + 1, index);
                lastIndex = index;
                listed.Add(name.ToArray());
                return true;
            }));
            Assert.Equal(expected.Select(Convert.ToHexString), listed.Select(Convert.ToHexString));
        }
        return compared;
    }

    private static void CompareContent(byte[] path, LayerReader reader, ulong ino, long size, byte[] buffer, byte[] chunk, string rel)
    {
        Assert.Equal(0, RawPathFiles.TryOpenRead(path, out var handle));
        using var _ = handle;
        long offset = 0;
        while (true)
        {
            int n = 0;
            while (n < buffer.Length)
            {
                int got = RandomAccess.Read(handle, buffer.AsSpan(n), offset + n);
                if (got == 0)
                    break;
                n += got;
            }
            int done = 0;
            while (done < n)
            {
                // Odd chunk sizes so reads straddle block boundaries.
                int rc = reader.Read(ino, offset + done, chunk, out int got);
                Assert.True(rc == 0, $"{rel}: read errno {rc}");
                int take = Math.Min(got, n - done);
                Assert.True(take > 0, $"{rel}: short read at {offset + done}");
                Assert.True(buffer.AsSpan(done, take).SequenceEqual(chunk.AsSpan(0, take)), $"{rel}: bytes differ near {offset + done}");
                done += take;
            }
            offset += n;
            if (n < buffer.Length)
                break;
        }
        Assert.Equal(size, offset);
        Assert.Equal(0, reader.Read(ino, size, chunk, out int atEnd));
        Assert.Equal(0, atEnd);
    }
}
