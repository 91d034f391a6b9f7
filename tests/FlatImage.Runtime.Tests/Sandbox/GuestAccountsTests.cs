using System.Text;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Tests.Sandbox;

/// <summary>The guest's /etc/passwd and /etc/group: the image's own, with the caller's entry, and without it again before a commit.</summary>
public sealed class GuestAccountsTests : IDisposable
{
    private const string ImagePasswd = "root:x:0:0:root:/root:/bin/bash\nman:x:6:12:man:/var/cache/man:/usr/sbin/nologin\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n";
    private const string ImageGroup = "root:x:0:\nman:x:12:\n";
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-accounts-").FullName;
    private readonly string _upper;
    private readonly IReadOnlyList<LayerLocation> _layers;
    private static readonly Identity Alice = new(1000, 1000, "alice", "/home/alice", "/bin/sh");
    private static readonly Identity Root = new(0, 0, "root", "/root", "/opt/bash");

    public GuestAccountsTests()
    {
        _upper = Directory.CreateDirectory(Path.Combine(_dir, "root")).FullName;
        _layers = [Layer(("etc/passwd", ImagePasswd), ("etc/group", ImageGroup))];
    }

    private readonly List<LayerStackFiles> _opened = [];

    public void Dispose()
    {
        _opened.ForEach(f => f.Dispose());
        Directory.Delete(_dir, recursive: true);
    }

    private LayerStackFiles Files(IReadOnlyList<LayerLocation> layers)
    {
        var files = new LayerStackFiles(layers);
        _opened.Add(files);
        return files;
    }

    private string UpperFile(string name) => Path.Combine(_upper, "etc", name);

    [Fact]
    public void The_callers_entry_joins_the_images_accounts_and_leaves_before_a_commit()
    {
        GuestAccounts.AddCallerEntries(_upper, Files(_layers), Alice, "staff", _dir);
        Assert.Equal(ImagePasswd + "alice:x:1000:1000:alice:/home/alice:/bin/sh\n", File.ReadAllText(UpperFile("passwd")));
        Assert.Equal(ImageGroup + "staff:x:1000:\n", File.ReadAllText(UpperFile("group")));

        // The guest adds a system user (as useradd does: a new file renamed over the old).
        File.AppendAllText(UpperFile("passwd"), "messagebus:x:100:101::/nonexistent:/usr/sbin/nologin\n");
        GuestAccounts.RemoveCallerEntries(_upper, () => _layers, _dir);
        Assert.Equal(ImagePasswd + "messagebus:x:100:101::/nonexistent:/usr/sbin/nologin\n", File.ReadAllText(UpperFile("passwd")));
        // Left equal to the image's, the group file leaves the writable layer: the commit records nothing of it.
        Assert.False(File.Exists(UpperFile("group")));
        Assert.False(File.Exists(GuestAccounts.RecordPath(_dir)));
    }

    [Fact]
    public void Root_replaces_the_images_line_for_uid_0_and_gets_it_back()
    {
        GuestAccounts.AddCallerEntries(_upper, Files(_layers), Root, "root", _dir);
        Assert.StartsWith("root:x:0:0:root:/root:/opt/bash\nman:", File.ReadAllText(UpperFile("passwd")));
        // The image has group 0: nothing to add there.
        Assert.False(File.Exists(UpperFile("group")));
        // A second run finds its entry in place and writes nothing.
        var before = File.GetLastWriteTimeUtc(UpperFile("passwd"));
        GuestAccounts.AddCallerEntries(_upper, Files(_layers), Root, "root", _dir);
        Assert.Equal(before, File.GetLastWriteTimeUtc(UpperFile("passwd")));

        GuestAccounts.RemoveCallerEntries(_upper, () => _layers, _dir);
        Assert.False(File.Exists(UpperFile("passwd")));
    }

    [Fact]
    public void An_image_without_accounts_gets_just_the_callers()
    {
        GuestAccounts.AddCallerEntries(_upper, Files([]), Alice, "alice", _dir);
        Assert.Equal("alice:x:1000:1000:alice:/home/alice:/bin/sh\n", File.ReadAllText(UpperFile("passwd")));
        Assert.Equal("alice:x:1000:\n", File.ReadAllText(UpperFile("group")));
        // Taken out again, nothing of the run is left in the writable layer, not even the /etc it made.
        GuestAccounts.RemoveCallerEntries(_upper, () => [], _dir);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_upper));
    }

    [Fact]
    public void A_symlink_the_guest_planted_is_never_followed()
    {
        string outside = Directory.CreateDirectory(Path.Combine(_dir, "host-etc")).FullName;
        File.WriteAllText(Path.Combine(outside, "passwd"), "host:x:1:1::/:/bin/sh\n");
        // The writable layer's /etc/passwd points at a host file: it is replaced, not written through.
        Directory.CreateDirectory(Path.Combine(_upper, "etc"));
        File.CreateSymbolicLink(UpperFile("passwd"), Path.Combine(outside, "passwd"));
        GuestAccounts.AddCallerEntries(_upper, Files(_layers), Alice, "alice", _dir);
        Assert.Equal("host:x:1:1::/:/bin/sh\n", File.ReadAllText(Path.Combine(outside, "passwd")));
        Assert.Null(new FileInfo(UpperFile("passwd")).LinkTarget);

        // /etc itself a link to a host directory: the run refuses to write there.
        var other = Directory.CreateDirectory(Path.Combine(_dir, "other")).FullName;
        var linkedEtc = Path.Combine(other, "etc");
        Directory.CreateSymbolicLink(linkedEtc, outside);
        Assert.Throws<FlatImage.Native.ErrnoException>(() => GuestAccounts.AddCallerEntries(other, Files(_layers), Alice, "alice", _dir));
        Assert.Equal("host:x:1:1::/:/bin/sh\n", File.ReadAllText(Path.Combine(outside, "passwd")));
        Assert.Single(Directory.GetFiles(outside));
    }

    [Theory]
    [InlineData("a:x:1:1::/:/bin/sh\n", "b:x:2:2::/:/bin/sh", true, "a:x:1:1::/:/bin/sh\nb:x:2:2::/:/bin/sh\n")]
    [InlineData("a:x:1:1::/:/bin/sh\nc:x:3:3::/:/bin/sh", "b:x:1:1::/:/bin/zsh", true, "b:x:1:1::/:/bin/zsh\nc:x:3:3::/:/bin/sh\n")]
    [InlineData("a:x:1:1::/:/bin/sh\n", "a:x:1:1::/:/bin/sh", true, null)]
    [InlineData("users:x:100:\n", "alice:x:100:", false, null)]
    [InlineData("", "alice:x:100:", false, "alice:x:100:\n")]
    public void An_entry_replaces_the_line_with_its_id_or_is_added(string text, string line, bool replace, string? expected)
    {
        Assert.Equal(expected, GuestAccounts.WithEntry(text, line, replace));
    }

    [Fact]
    public void A_writable_etc_made_for_the_accounts_shows_the_images_mode_and_a_chmod_of_it_is_kept()
    {
        // The image's /etc is 0750: the writable layer's copy (which the overlay shows) is too.
        IReadOnlyList<LayerLocation> closed = [Layer(0b111_101_000, ("etc/passwd", ImagePasswd), ("etc/group", ImageGroup))];
        GuestAccounts.AddCallerEntries(_upper, Files(closed), Alice, "alice", _dir);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute,
            File.GetUnixFileMode(Path.Combine(_upper, "etc")));
        GuestAccounts.RemoveCallerEntries(_upper, () => closed, _dir);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_upper));

        // The guest chmods the /etc the run made: the directory is a change of its own and stays.
        GuestAccounts.AddCallerEntries(_upper, Files(_layers), Alice, "alice", _dir);
        File.SetUnixFileMode(Path.Combine(_upper, "etc"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        GuestAccounts.RemoveCallerEntries(_upper, () => _layers, _dir);
        Assert.Equal(["etc"], Directory.EnumerateFileSystemEntries(_upper).Select(Path.GetFileName));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_upper, "etc")));
    }

    [Fact]
    public void A_home_the_image_lacks_is_made_and_left_out_of_a_commit_while_unused()
    {
        GuestAccounts.EnsureHome(_upper, Files(_layers), Alice, null, _dir);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_upper, "home", "alice")));
        Assert.Equal(0b111_101_101, (int)File.GetUnixFileMode(Path.Combine(_upper, "home")));
        // A second run finds it and makes nothing; a commit takes the unused directories out.
        GuestAccounts.EnsureHome(_upper, Files(_layers), Alice, null, _dir);
        GuestAccounts.RemoveCallerEntries(_upper, () => _layers, _dir);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_upper));

        // A program wrote its settings there: they are the image's now, and the directories stay.
        GuestAccounts.EnsureHome(_upper, Files(_layers), Alice, null, _dir);
        File.WriteAllText(Path.Combine(_upper, "home", "alice", ".settings"), "x");
        GuestAccounts.RemoveCallerEntries(_upper, () => _layers, _dir);
        Assert.True(File.Exists(Path.Combine(_upper, "home", "alice", ".settings")));

        // A home the guest replaced with a file, or a path with '..': nothing is made, nothing is followed.
        Directory.Delete(Path.Combine(_upper, "home"), recursive: true);
        File.WriteAllText(Path.Combine(_upper, "home"), "");
        GuestAccounts.EnsureHome(_upper, Files(_layers), Alice, null, _dir);
        GuestAccounts.EnsureHome(_upper, Files(_layers), Alice with { Home = "/../../escape" }, null, _dir);
        Assert.Equal(["home"], Directory.EnumerateFileSystemEntries(_upper).Select(Path.GetFileName));
        Assert.False(Directory.Exists(Path.Combine(_dir, "escape")));
    }

    private LayerLocation Layer(params (string Path, string Content)[] files) => Layer(0b111_101_101, files);

    private LayerLocation Layer(uint etcMode, params (string Path, string Content)[] files)
    {
        var root = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED };
        var etc = new LayerSourceNode(LayerFileType.Directory) { Permissions = etcMode };
        root.Children.Add(new("etc"u8.ToArray(), etc));
        foreach (var (path, content) in files)
        {
            string file = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
            File.WriteAllText(file, content);
            etc.Children.Add(new(Encoding.UTF8.GetBytes(Path.GetFileName(path)),
                new LayerSourceNode(LayerFileType.Regular) { Permissions = 0x1A4, Size = content.Length, SourcePath = Encoding.UTF8.GetBytes(file) }));
        }
        string layer = Path.Combine(_dir, $"base-{Guid.NewGuid():N}.layer");
        using (var stream = File.Create(layer))
            LayerWriter.WriteTo(root, stream, new LayerWriterOptions());
        return new LayerLocation(layer, 0, new FileInfo(layer).Length);
    }
}
