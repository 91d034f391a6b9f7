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

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string UpperFile(string name) => Path.Combine(_upper, "etc", name);

    [Fact]
    public void The_callers_entry_joins_the_images_accounts_and_leaves_before_a_commit()
    {
        GuestAccounts.AddCallerEntries(_upper, _layers, Alice, "staff", _dir);
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
        GuestAccounts.AddCallerEntries(_upper, _layers, Root, "root", _dir);
        Assert.StartsWith("root:x:0:0:root:/root:/opt/bash\nman:", File.ReadAllText(UpperFile("passwd")));
        // The image has group 0: nothing to add there.
        Assert.False(File.Exists(UpperFile("group")));
        // A second run finds its entry in place and writes nothing.
        var before = File.GetLastWriteTimeUtc(UpperFile("passwd"));
        GuestAccounts.AddCallerEntries(_upper, _layers, Root, "root", _dir);
        Assert.Equal(before, File.GetLastWriteTimeUtc(UpperFile("passwd")));

        GuestAccounts.RemoveCallerEntries(_upper, () => _layers, _dir);
        Assert.False(File.Exists(UpperFile("passwd")));
    }

    [Fact]
    public void An_image_without_accounts_gets_just_the_callers()
    {
        GuestAccounts.AddCallerEntries(_upper, [], Alice, "alice", _dir);
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
        GuestAccounts.AddCallerEntries(_upper, _layers, Alice, "alice", _dir);
        Assert.Equal("host:x:1:1::/:/bin/sh\n", File.ReadAllText(Path.Combine(outside, "passwd")));
        Assert.Null(new FileInfo(UpperFile("passwd")).LinkTarget);

        // /etc itself a link to a host directory: the run refuses to write there.
        var other = Directory.CreateDirectory(Path.Combine(_dir, "other")).FullName;
        var linkedEtc = Path.Combine(other, "etc");
        Directory.CreateSymbolicLink(linkedEtc, outside);
        Assert.Throws<FlatImage.Native.ErrnoException>(() => GuestAccounts.AddCallerEntries(other, _layers, Alice, "alice", _dir));
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

    private LayerLocation Layer(params (string Path, string Content)[] files)
    {
        var root = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED };
        var etc = new LayerSourceNode(LayerFileType.Directory) { Permissions = 0x1ED };
        root.Children.Add(new("etc"u8.ToArray(), etc));
        foreach (var (path, content) in files)
        {
            string file = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
            File.WriteAllText(file, content);
            etc.Children.Add(new(Encoding.UTF8.GetBytes(Path.GetFileName(path)),
                new LayerSourceNode(LayerFileType.Regular) { Permissions = 0x1A4, Size = content.Length, SourcePath = Encoding.UTF8.GetBytes(file) }));
        }
        string layer = Path.Combine(_dir, "base.layer");
        using (var stream = File.Create(layer))
            LayerWriter.WriteTo(root, stream, new LayerWriterOptions());
        return new LayerLocation(layer, 0, new FileInfo(layer).Length);
    }
}
