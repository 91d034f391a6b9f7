using System.Text;
using FlatImage.Native;
using FlatImage.Native.Io;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The guest's <c>/etc/passwd</c> and <c>/etc/group</c> are the image's own, as ordinary files of
/// the merged tree, so its system users and groups (<c>_apt</c>, <c>man</c>, <c>messagebus</c>)
/// exist inside and a package that adds one (<c>useradd</c> writes a new file and renames it over
/// the old) works and persists. Binding a file over <c>/etc/passwd</c> would break that rename
/// (EBUSY on a mount point) and hide the image's accounts.
///
/// Before each run the caller's entry is put into the writable layer's copy of each file: in
/// <c>passwd</c> the identity's line replaces the line with the same uid or is added; in
/// <c>group</c> a line for the identity's gid is added when the image has no group with that gid.
/// Nothing else of the host's account data enters the guest. Only when the merged tree does not
/// already show the entry is a file written, and every entry written is recorded in the data
/// directory (outside the guest's reach), so that <see cref="RemoveCallerEntries"/> takes it out
/// again before a commit: a committed layer carries the image's accounts and whatever the guest
/// added, never the caller's name or home.
///
/// The writable layer is the guest's: its files are reached through <see cref="BeneathDirectory"/>
/// (no symlink followed, size-capped, regular files only).
/// </summary>
public static class GuestAccounts
{
    private const int MaxFileBytes = 4 << 20;
    private static readonly string[] Etc = ["etc"];
    private const uint DefaultDirectoryMode = 0b111_101_101; // 0755, as /etc is almost everywhere
    private const uint FileMode = 0b110_100_100; // 0644

    /// <summary>The data directory's record of the entries runs put into the writable layer.</summary>
    public static string RecordPath(string dataDirectory) => Path.Combine(dataDirectory, "accounts");

    /// <summary>Puts the caller's entries into the writable layer's /etc/passwd and /etc/group (see the type's summary).</summary>
    /// <param name="upper">the writable layer (its files as the overlay stores them).</param>
    /// <param name="layers">the files of the read-only layers below it.</param>
    /// <param name="groupName">the name for a group line of <paramref name="identity"/>'s gid, should the image lack one.</param>
    public static void AddCallerEntries(string upper, LayerStackFiles layers, Identity identity, string groupName, string dataDirectory)
    {
        string passwdLine = identity.PasswdLine();
        string groupLine = $"{groupName}:x:{identity.Gid}:";
        var record = ReadRecord(dataDirectory);
        using var etc = BeneathDirectory.Open(upper, Etc);
        var passwd = Merged(etc, "passwd", layers);
        var group = Merged(etc, "group", layers);

        string? newPasswd = WithEntry(passwd, passwdLine, replaceSameKey: true);
        string? newGroup = WithEntry(group, groupLine, replaceSameKey: false);
        if (newPasswd is null && newGroup is null)
            return;

        // A writable /etc made here gets the image's own mode (the overlay shows the upper
        // directory's), and the mode is recorded: the commit removes the directory only when the
        // guest left it as it was made (an empty /etc the guest chmodded is a change to keep).
        uint directoryMode = etc is null ? ImageDirectoryMode(layers) : 0;
        // Recorded before the files change: a launcher killed in between leaves a record of an
        // entry that is not there, which removal ignores, never an entry nobody knows about.
        if (etc is null)
            record.Add(("directory", MadeDirectory("etc", directoryMode)));
        if (newPasswd is not null)
            record.Add(("passwd", passwdLine));
        if (newGroup is not null)
            record.Add(("group", groupLine));
        WriteRecord(dataDirectory, record);

        using var writable = etc is null ? BeneathDirectory.Open(upper, Etc, directoryMode)! : null;
        var target = etc ?? writable!;
        if (newPasswd is not null)
            target.ReplaceFile("passwd", Encoding.UTF8.GetBytes(newPasswd), FileMode);
        if (newGroup is not null)
            target.ReplaceFile("group", Encoding.UTF8.GetBytes(newGroup), FileMode);
    }

    /// <summary>
    /// Before a commit: takes every recorded caller entry out of the writable layer's files again,
    /// restoring the image's line for that uid where the caller's replaced one. A file left equal
    /// to the image's is removed from the writable layer, so the commit does not record it.
    /// </summary>
    /// <param name="stack">the read-only layers below the writable layer, bottom to top; asked for only when there is something to take out.</param>
    public static void RemoveCallerEntries(string upper, Func<IReadOnlyList<LayerLocation>> stack, string dataDirectory)
    {
        var record = ReadRecord(dataDirectory);
        if (record.Count == 0)
            return;
        using var layers = new LayerStackFiles(stack());
        using (var etc = BeneathDirectory.Open(upper, Etc))
        {
            if (etc is not null)
            {
                foreach (string name in new[] { "passwd", "group" })
                {
                    var injected = record.Where(r => r.File == name).Select(r => r.Line).ToHashSet(StringComparer.Ordinal);
                    if (injected.Count > 0)
                        Restore(etc, name, layers, injected);
                }
            }
        }
        // The directories a run made (/etc to hold those files, the caller's home) go too, when
        // nothing came into them and their mode is still the one they were made with: deepest first.
        foreach (var (_, made) in record.Where(r => r.File == "directory").Reverse())
            RemoveIfAsMade(upper, made);
        File.Delete(RecordPath(dataDirectory));
    }

    private static void Restore(BeneathDirectory etc, string name, LayerStackFiles layers, HashSet<string> injected)
    {
        string? upperText = ReadUpper(etc, name, out bool present);
        if (!present || upperText is null)
            return;
        string? lowerText = ReadLower(layers, name);
        var lower = Lines(lowerText ?? "");
        var result = new List<string>();
        foreach (string line in Lines(upperText))
        {
            if (!injected.Contains(line))
            {
                result.Add(line);
                continue;
            }
            // The caller's line replaced the image's line with the same key: put that one back.
            if (name == "passwd" && lower.FirstOrDefault(l => Key(l) == Key(line)) is { } original)
                result.Add(original);
        }
        string text = Join(result);
        if (text == Join(Lines(lowerText ?? "")))
            etc.Unlink(name);
        else if (text != upperText)
            etc.ReplaceFile(name, Encoding.UTF8.GetBytes(text), FileMode);
    }

    /// <summary>
    /// <paramref name="text"/> with <paramref name="line"/> in it, or null when it is there already.
    /// With <paramref name="replaceSameKey"/> it takes the place of the first line with the same key
    /// (the id field); otherwise a line with the same key means there is nothing to add.
    /// </summary>
    public static string? WithEntry(string text, string line, bool replaceSameKey)
    {
        var lines = Lines(text);
        if (lines.Contains(line, StringComparer.Ordinal))
            return null;
        int same = lines.FindIndex(l => Key(l) == Key(line));
        if (same >= 0 && !replaceSameKey)
            return null;
        if (same >= 0)
            lines[same] = line;
        else
            lines.Add(line);
        return Join(lines);
    }

    /// <summary>The id field (third) of a passwd or group line; null for a line without one.</summary>
    private static string? Key(string line)
    {
        var fields = line.Split(':');
        return fields.Length >= 3 ? fields[2] : null;
    }

    /// <summary>The file as the merged tree shows it: the writable layer's copy when it has one, else the layers'.</summary>
    private static string Merged(BeneathDirectory? etc, string name, LayerStackFiles layers)
    {
        if (etc is not null)
        {
            string? upper = ReadUpper(etc, name, out bool present);
            if (present)
                return upper ?? "";
        }
        return ReadLower(layers, name) ?? "";
    }

    /// <summary>
    /// The writable layer's regular file <paramref name="name"/>. <paramref name="present"/> says
    /// whether the layer has any entry by that name; anything but a regular file there (an
    /// overlay whiteout: the guest deleted the file, or a link it planted) reads as null: the
    /// entry hides the layers' file, and it is never followed.
    /// </summary>
    private static string? ReadUpper(BeneathDirectory etc, string name, out bool present)
    {
        present = false;
        if (etc.TryStatEntry(name) is not { } entry)
            return null;
        present = true;
        if ((entry.Mode & Native.Interop.Stat.S_IFMT) != Native.Interop.Stat.S_IFREG)
            return null;
        try
        {
            return etc.ReadFile(name, MaxFileBytes) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;
        }
        catch (ErrnoException)
        {
            // Swapped for something else meanwhile, or absurdly large: treated as absent, never read through.
            return null;
        }
    }

    /// <summary>
    /// Makes the caller's home directory in the writable layer when the merged tree has none (a
    /// user's <c>$HOME</c> is not in the image; programs write their dotfiles there), with the
    /// directories above it that are missing. Each is recorded, so that a commit leaves out those
    /// that stayed empty and unchanged: an image carries no packager's empty home. Nothing is made
    /// when the home is bound from the host, when it is not a plain absolute path, or when the
    /// writable layer has something other than a directory on the way (the guest's choice).
    /// </summary>
    /// <param name="owner">the host uid:gid the guest's identity is (root callers' namespaces map ids one to one); null to keep the caller's.</param>
    public static void EnsureHome(string upper, LayerStackFiles layers, Identity identity, (uint Uid, uint Gid)? owner, string dataDirectory)
    {
        string[] components = identity.Home.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (!identity.Home.StartsWith('/') || components.Length is 0 or > 16 || components.Any(c => c is "." or ".."))
            return;
        try
        {
            using (var present = BeneathDirectory.Open(upper, components))
                if (present is not null || LowerDirectoryMode(layers, identity.Home) is not null)
                    return;
            var record = ReadRecord(dataDirectory);
            var made = new List<(string[] Path, uint Mode, bool Home)>();
            for (int depth = 1; depth <= components.Length; depth++)
            {
                var path = components[..depth];
                using (var existing = BeneathDirectory.Open(upper, path))
                    if (existing is not null)
                        continue;
                bool home = depth == components.Length;
                // A directory the image has is made as a copy-up would make it; a new one 0755, the home 0700.
                uint mode = LowerDirectoryMode(layers, "/" + string.Join('/', path)) ?? (home ? 0b111_000_000u : DefaultDirectoryMode);
                made.Add((path, mode, home));
                record.Add(("directory", MadeDirectory(string.Join('/', path), mode)));
            }
            // Recorded before anything is made (see AddCallerEntries).
            WriteRecord(dataDirectory, record);
            foreach (var (path, mode, home) in made)
            {
                using var directory = BeneathDirectory.Open(upper, path, mode)!;
                if (home && owner is { } o)
                    directory.SetOwner(o.Uid, o.Gid);
            }
        }
        catch (ErrnoException)
        {
            // A whiteout or a link where a directory would go: the guest removed or replaced it.
        }
    }

    private static string MadeDirectory(string relativePath, uint mode) => $"{relativePath} {Convert.ToString(mode, 8)}";

    /// <summary>Removes a recorded directory (<c>&lt;path&gt; &lt;octal mode&gt;</c>) if it is empty and its mode is still the recorded one.</summary>
    private static void RemoveIfAsMade(string upper, string made)
    {
        int space = made.LastIndexOf(' ');
        if (space <= 0)
            return;
        string[] components = made[..space].Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (components.Length == 0 || components.Any(c => c is "." or ".."))
            return;
        try
        {
            using var parent = BeneathDirectory.Open(upper, components[..^1]);
            if (parent?.TryStatEntry(components[^1]) is { } now && Convert.ToString(now.Mode & 0xfff, 8) == made[(space + 1)..])
                parent.RemoveEmptyDirectory(components[^1]);
        }
        catch (ErrnoException)
        {
            // The guest replaced a directory on the way with something else: nothing of ours is left to remove.
        }
    }

    private static uint ImageDirectoryMode(LayerStackFiles layers) =>
        LowerDirectoryMode(layers, "/etc") ?? DefaultDirectoryMode;

    private static uint? LowerDirectoryMode(LayerStackFiles layers, string path)
    {
        try
        {
            return layers.DirectoryPermissions(path);
        }
        catch (InvalidLayerException)
        {
            return null;
        }
    }

    private static string? ReadLower(LayerStackFiles layers, string name)
    {
        try
        {
            return layers.Read("/etc/" + name, MaxFileBytes) is { } bytes ? Encoding.UTF8.GetString(bytes) : null;
        }
        catch (InvalidLayerException)
        {
            // A damaged layer is reported by the mount that serves it; here it only means "no file".
            return null;
        }
    }

    private static List<string> Lines(string text) =>
        text.Split('\n').Where(l => l.Length > 0).ToList();

    private static string Join(IEnumerable<string> lines)
    {
        var sb = new StringBuilder();
        foreach (string l in lines)
            sb.Append(l).Append('\n');
        return sb.ToString();
    }

    private static List<(string File, string Line)> ReadRecord(string dataDirectory)
    {
        string path = RecordPath(dataDirectory);
        var record = new List<(string, string)>();
        if (!File.Exists(path))
            return record;
        foreach (string line in File.ReadLines(path))
        {
            int space = line.IndexOf(' ');
            if (space > 0)
                record.Add((line[..space], line[(space + 1)..]));
        }
        return record;
    }

    private static void WriteRecord(string dataDirectory, List<(string File, string Line)> record)
    {
        string path = RecordPath(dataDirectory);
        string temporary = path + $".{Environment.ProcessId}";
        File.WriteAllLines(temporary, record.Distinct().Select(r => $"{r.File} {r.Line}"));
        File.Move(temporary, path, overwrite: true);
    }
}
