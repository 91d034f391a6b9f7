using System.Text;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Desktop;

/// <summary>What an install or clean changed, so that only the affected caches are rebuilt.</summary>
public sealed record DesktopChanges(bool Entry, bool MimeType, bool Icons, IReadOnlyList<string> Removed)
{
    public static readonly DesktopChanges Nothing = new(false, false, false, []);
    public bool Any => Entry || MimeType || Icons || Removed.Count > 0;
}

/// <summary>
/// Writes and removes the integration's files under <c>$XDG_DATA_HOME</c> (docs/cli.md §11.2, §11.3).
/// Every file is written whole under a temporary name and renamed into place, so a reader (a menu,
/// update-mime-database) never sees half a file and a failure leaves the previous file.
/// Everything a write needs (icons included) is produced before the first file is touched.
/// </summary>
public static class DesktopInstaller
{
    /// <summary>
    /// Brings the enabled items up to date for the image at <paramref name="imagePath"/>. Without
    /// <paramref name="force"/> this is the per-launch refresh: the entry is compared with what it
    /// should say (it changes when the image moves), the MIME package is rewritten only when missing
    /// or naming another file, the icons only when missing, so an unchanged install costs a read and two stats.
    /// </summary>
    public static DesktopChanges Install(DesktopIntegration integration, DesktopFiles files, string imagePath, bool force)
    {
        var writes = new List<(string Path, byte[] Bytes)>();
        bool entry = false, mime = false, icons = false;

        if ((integration.Items & DesktopItems.Entry) != 0)
        {
            byte[] text = Encoding.UTF8.GetBytes(files.EntryText(imagePath, integration.Categories));
            if (force || !SameContent(files.Entry, text))
            {
                writes.Add((files.Entry, text));
                entry = true;
            }
        }

        if ((integration.Items & DesktopItems.MimeType) != 0)
        {
            string package = files.MimePackageText(Path.GetFileName(imagePath));
            if (force || !SameContent(files.MimePackage, Encoding.UTF8.GetBytes(package)))
            {
                writes.Add((files.MimePackage, Encoding.UTF8.GetBytes(package)));
                mime = true;
            }
            byte[] generic = Encoding.UTF8.GetBytes(DesktopFiles.GenericMimePackageText);
            if (force || !SameContent(files.GenericMimePackage, generic))
            {
                writes.Add((files.GenericMimePackage, generic));
                mime = true;
            }
        }

        if ((integration.Items & DesktopItems.Icon) != 0 && (force || (!File.Exists(files.AppPng(64)) && !File.Exists(files.AppSvg))))
        {
            byte[] icon = integration.Icon.ToArray();
            if (integration.IconType == DesktopIconType.Svg)
            {
                DesktopIcon.Check(DesktopIconType.Svg, icon, "stored in the image");
                writes.Add((files.MimeSvg, icon));
                writes.Add((files.AppSvg, icon));
            }
            else
            {
                foreach (var (size, png) in DesktopIcon.RenderPngs(integration.IconType, icon))
                {
                    writes.Add((files.MimePng(size), png));
                    writes.Add((files.AppPng(size), png));
                }
            }
            byte[] logo = Encoding.UTF8.GetBytes(DesktopFiles.GenericLogoSvg);
            writes.Add((files.GenericMimeSvg, logo));
            writes.Add((files.GenericAppSvg, logo));
            icons = true;
        }

        foreach (var (path, bytes) in writes)
            WriteWhole(path, bytes);
        return new DesktopChanges(entry, mime, icons, []);
    }

    /// <summary>
    /// Removes this application's files — entry, MIME package, icons of either type — and nothing
    /// else: the generic files are shared with every other image and stay.
    /// </summary>
    public static DesktopChanges Clean(DesktopFiles files)
    {
        var removed = new List<string>();
        foreach (string path in files.OwnFiles())
        {
            // A dangling symlink of that name is ours to remove too (File.Exists follows links).
            var info = new FileInfo(path);
            if (!info.Exists && info.LinkTarget is null)
                continue;
            File.Delete(path);
            removed.Add(path);
        }
        return new DesktopChanges(false, removed.Contains(files.MimePackage), false, removed);
    }

    private static bool SameContent(string path, byte[] expected)
    {
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            if (RandomAccess.GetLength(file) != expected.Length)
                return false;
            var actual = new byte[expected.Length];
            return FullRead.At(file, actual, 0) == actual.Length && actual.AsSpan().SequenceEqual(expected);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
    }

    private static void WriteWhole(string path, byte[] bytes)
    {
        string dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(path)}.tmp-{Environment.ProcessId}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
                stream.Write(bytes);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
