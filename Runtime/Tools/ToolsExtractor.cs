using System.Globalization;
using System.Text;
using FlatImage.Native.Elf;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Paths;

namespace FlatImage.Runtime.Tools;

/// <summary>
/// Unpacks an image's tools bundle into the private app directory of this build
/// (docs/cli.md §10): <c>bin/</c> (FIM_DIR_APP_BIN), <c>lib/</c> (libraries and the dynamic loader) and
/// <c>sbin/</c> (FIM_DIR_APP_SBIN, busybox applets).
///
/// Overview. A stamp file, <c>.tools</c>, names the payload checksum of the bundle that is in
/// place; it is written last, so its presence means the three directories are whole, and a run
/// that finds the right stamp reads nothing else. Otherwise, under an exclusive flock on
/// <c>.tools.lock</c> (concurrent first runs: one extracts, the others wait and then find the
/// stamp), the payload is checked against the header's checksum before a byte of it is trusted,
/// opened as a layer (which validates its own structure), unpacked into a temporary directory,
/// and each directory is renamed into place. A crash at any point leaves no stamp, so the next
/// run starts over; leftovers of the crash are removed first.
///
/// The dynamic tools carry a placeholder PT_INTERP (scripts/collect-tools.sh); here it gets the
/// absolute path of the extracted loader, so each tool runs as itself, with no wrapper, on the
/// host and — bound at the same path — inside any guest.
/// </summary>
public static class ToolsExtractor
{
    /// <summary>Start of the loader placeholder that scripts/collect-tools.sh writes (must match).</summary>
    public static ReadOnlySpan<byte> LoaderPlaceholder => "/@FIM_LOADER@"u8;

    public const string LoaderName = "ld-linux-x86-64.so.2";

    private const string Stamp = ".tools";
    private static readonly string[] Directories = ["bin", "lib", "sbin"];

    /// <summary>A bundled file bigger than this is not one of ours (the biggest tool is a few MB).</summary>
    private const long MaxFileSize = 256L << 20;

    /// <summary>
    /// Makes sure the tools of <paramref name="imagePath"/> are extracted below <paramref name="appDirectory"/>
    /// and can be run. Returns false when the image carries no tools (a bare launcher or an empty
    /// bundle) or the runtime directory is on a noexec mount: the host's tools are then used
    /// (<see cref="HostTools"/>).
    /// </summary>
    /// <exception cref="InvalidImageException">the bundle is damaged.</exception>
    public static bool Ensure(string imagePath, string appDirectory) =>
        Extract(imagePath, appDirectory)
        // access(2) X_OK fails with EACCES on a noexec mount (a hardened /tmp), where the kernel would refuse to run the tools.
        && Unistd.access(Path.Combine(appDirectory, "lib", LoaderName), Unistd.X_OK) == 0;

    private static bool Extract(string imagePath, string appDirectory)
    {
        using var image = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read);
        var layout = ImageLayout.Read(image);
        if (layout.FileLength <= layout.ToolsOffset)
            return false;
        if (!ToolsHeader.TryReadAt(image, layout, out var header))
            throw new InvalidImageException($"Invalid image '{imagePath}': the tools bundle header is damaged");
        if (header.PayloadSize == 0)
            return false;

        string checksum = header.PayloadChecksum.ToString("x16", CultureInfo.InvariantCulture);
        string stamp = Path.Combine(appDirectory, Stamp);
        if (ReadStamp(stamp) == checksum)
            return true;

        RuntimeDirectory.CreateChild(appDirectory);
        using var lockFile = File.OpenHandle(Path.Combine(appDirectory, ".tools.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite,
            FileShare.ReadWrite, FileOptions.None, preallocationSize: 0);
        FileLocks.Flock(lockFile, SysFile.LOCK_EX, Path.Combine(appDirectory, ".tools.lock"));
        if (ReadStamp(stamp) == checksum)
            return true; // another run extracted it while we waited

        long payloadOffset = layout.ToolsOffset + ToolsHeader.Size;
        if (ToolsBundle.Checksum(image, payloadOffset, header.PayloadSize) != header.PayloadChecksum)
            throw new InvalidImageException($"Invalid image '{imagePath}': the tools bundle is corrupt (checksum mismatch)");

        string temp = Path.Combine(appDirectory, ".tools.tmp");
        RemoveIfPresent(temp);
        try
        {
            Directory.CreateDirectory(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            LayerReader reader;
            try
            {
                reader = LayerReader.Open(imagePath, payloadOffset, header.PayloadSize);
            }
            catch (InvalidLayerException e)
            {
                throw new InvalidImageException($"Invalid image '{imagePath}': the tools bundle is not a valid layer ({e.Message})");
            }
            using (reader)
            {
                byte[] loader = Encoding.UTF8.GetBytes(Path.Combine(appDirectory, "lib", LoaderName));
                new Unpacker(reader, imagePath, loader).UnpackDirectory(LayerReader.RootInode, temp);
            }

            // The stamp goes first: from here until the new one is written, a crash must not leave
            // the old stamp vouching for half-replaced directories.
            File.Delete(stamp);
            foreach (string name in Directories)
            {
                string target = Path.Combine(appDirectory, name);
                RemoveIfPresent(target);
                if (Directory.Exists(Path.Combine(temp, name)))
                    Directory.Move(Path.Combine(temp, name), target);
            }
            File.WriteAllText(Path.Combine(temp, Stamp), checksum);
            File.Move(Path.Combine(temp, Stamp), stamp);
        }
        finally
        {
            RemoveIfPresent(temp);
        }
        return true;
    }

    private static string? ReadStamp(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Our own extracted tree: Directory.Delete removes symlinks without following them.</summary>
    private static void RemoveIfPresent(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
        else if (File.Exists(path))
            File.Delete(path);
    }

    /// <summary>Writes a layer's tree to disk; every name, type, size and mode is checked again here, where it is used.</summary>
    private sealed class Unpacker(LayerReader reader, string imagePath, byte[] loader)
    {
        private const int EntryLimit = 100_000;
        private int _entries;

        public void UnpackDirectory(ulong ino, string path)
        {
            var children = new List<(string Name, LayerInode Inode)>();
            int errno = reader.ReadDirectory(ino, 0, (long _, ReadOnlySpan<byte> name, ulong _, in LayerInode inode) =>
            {
                children.Add((Encoding.UTF8.GetString(name), inode));
                return true;
            });
            if (errno != 0)
                throw Corrupt(path, errno);
            foreach (var (name, inode) in children)
            {
                if (++_entries > EntryLimit || name.Length == 0 || name is "." or ".." || name.Contains('/') || name.Contains('\0'))
                    throw Corrupt(Path.Combine(path, name), 0);
                string child = Path.Combine(path, name);
                switch (inode.Type)
                {
                    case LayerFileType.Directory:
                        Directory.CreateDirectory(child, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                        UnpackDirectory(inode.Ino, child);
                        // 0755 at most: the guest's user reads and runs the tools through a bind mount.
                        File.SetUnixFileMode(child, (UnixFileMode)(inode.Mode & 0x1ED) | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                        break;
                    case LayerFileType.Regular:
                        RegularFile(inode, child);
                        break;
                    case LayerFileType.Symlink:
                        errno = reader.ReadLink(inode.Ino, out var target);
                        if (errno != 0 || target.Length == 0 || target.Span.IndexOf((byte)0) >= 0)
                            throw Corrupt(child, errno);
                        File.CreateSymbolicLink(child, Encoding.UTF8.GetString(target.Span));
                        break;
                    default:
                        throw Corrupt(child, 0);
                }
            }
        }

        private void RegularFile(in LayerInode inode, string path)
        {
            if (inode.Size < 0 || inode.Size > MaxFileSize)
                throw Corrupt(path, 0);
            var content = new byte[inode.Size];
            for (int done = 0; done < content.Length;)
            {
                int errno = reader.Read(inode.Ino, done, content.AsSpan(done), out int n);
                if (errno != 0 || n == 0)
                    throw Corrupt(path, errno);
                done += n;
            }
            PatchLoader(content, path);
            // Never a setuid, setgid or sticky bit from the image, and never writable by others.
            var mode = (UnixFileMode)(inode.Mode & 0x1ED) | UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var output = new FileStream(path, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = mode });
            output.Write(content);
        }

        /// <summary>Writes the extracted loader's path, NUL-padded, over a placeholder PT_INTERP.</summary>
        private void PatchLoader(byte[] content, string path)
        {
            if (!ElfImage.TryFindInterpreter(content, out int offset, out int length))
                return;
            var interp = content.AsSpan(offset, length);
            if (!interp.StartsWith(LoaderPlaceholder))
                return;
            if (loader.Length + 1 > length)
                throw new IOException($"The runtime directory path is too long for the bundled tools: '{Encoding.UTF8.GetString(loader)}' needs {loader.Length + 1} bytes, '{Path.GetFileName(path)}' has room for {length}");
            interp.Clear();
            loader.CopyTo(interp);
        }

        private InvalidImageException Corrupt(string path, int errno) => new(
            $"Invalid image '{imagePath}': the tools bundle is corrupt at '{Path.GetFileName(path)}'" + (errno != 0 ? $" ({Native.ErrnoException.StrError(errno)})" : ""));
    }
}
