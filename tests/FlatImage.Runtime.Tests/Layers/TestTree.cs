using System.Diagnostics;
using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Runtime.Tests.Layers;

/// <summary>A scratch directory, removed on dispose, with a builder for a tree that has every file type.</summary>
internal sealed class TestTree : IDisposable
{
    public TestTree()
    {
        Root = Path.Combine(Path.GetTempPath(), "fim-layer-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public static bool IsRoot => Unistd.getuid() == 0;

    public string PathOf(string rel) => Path.Combine(Root, rel);

    /// <summary>Paths the writer must leave out (relative, starting with '/').</summary>
    public HashSet<string> ExpectedMissing { get; } = new();

    // The 20-byte vfs_cap_data v2 of "cap_net_raw=ep" (<linux/capability.h>).
    public static readonly byte[] NetRawCapability = [0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public void BuildEverything()
    {
        var random = new Random(1234);
        Directory.CreateDirectory(PathOf("dir/sub/deeper"));
        Directory.CreateDirectory(PathOf("empty-dir"));
        File.WriteAllText(PathOf("hello.txt"), "hello, layer\n");
        File.WriteAllBytes(PathOf("empty"), []);
        // Bigger than many 64 KiB blocks, half text and half noise so both block kinds (zstd and
        // stored raw) appear.
        var big = new byte[1_500_000];
        for (int i = 0; i < 700_000; i++)
            big[i] = (byte)"the quick brown fox jumps over the lazy dog\n"[i % 44];
        random.NextBytes(big.AsSpan(700_000));
        File.WriteAllBytes(PathOf("dir/big.bin"), big);
        var shared = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("duplicate content ", 5000)));
        File.WriteAllBytes(PathOf("dup1.txt"), shared);
        File.WriteAllBytes(PathOf("dir/dup2.txt"), shared);
        File.WriteAllBytes(PathOf("dir/sub/dup3.dat"), shared);
        // Same size as the duplicates but different bytes: hashing must tell them apart.
        var sameSize = (byte[])shared.Clone();
        sameSize[^1] ^= 1;
        File.WriteAllBytes(PathOf("dir/sub/same-size.txt"), sameSize);
        for (int i = 0; i < 50; i++)
            File.WriteAllText(PathOf($"dir/sub/deeper/small-{i:D2}.conf"), $"key{i} = value {i * 7}\n");
        File.WriteAllText(PathOf("linked"), "one inode, three names\n");
        Run("ln", PathOf("linked"), PathOf("dir/linked-again"));
        Run("ln", PathOf("linked"), PathOf("dir/sub/linked-third"));
        File.CreateSymbolicLink(PathOf("link-to-hello"), "hello.txt");
        File.CreateSymbolicLink(PathOf("dir/dangling"), "../does/not/exist");
        File.CreateSymbolicLink(PathOf("dir/absolute"), "/etc/passwd");
        RawPathFiles.MakeNode(Encoding.UTF8.GetBytes(PathOf("fifo")), Stat.S_IFIFO | 0x1A0 /* 0640 */, 0);
        // A name that is not UTF-8 must survive byte for byte.
        RawPathFiles.MakeNode([.. Encoding.UTF8.GetBytes(PathOf("dir/")), (byte)'n', 0xff, 0xfe], Stat.S_IFREG | 0x180 /* 0600 */, 0);
        File.WriteAllText(PathOf("setuid-tool"), "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(PathOf("setuid-tool"), (UnixFileMode)0b111_101_101 | UnixFileMode.SetUser | UnixFileMode.SetGroup);
        File.SetUnixFileMode(PathOf("dir/sub"), (UnixFileMode)0b111_101_000 | UnixFileMode.StickyBit);
        File.WriteAllText(PathOf("with-xattr"), "xattrs\n");
        RawPathFiles.SetXattr(Encoding.UTF8.GetBytes(PathOf("with-xattr")), "user.comment"u8, "kept"u8);

        // mknod makes the socket inode directly; a bound .NET Socket unlinks its file on dispose.
        RawPathFiles.MakeNode(Encoding.UTF8.GetBytes(PathOf("socket")), Stat.S_IFSOCK | 0x1ED /* 0755 */, 0);
        ExpectedMissing.Add("/socket");

        Directory.CreateDirectory(PathOf("locked/inside"));
        File.WriteAllText(PathOf("locked/inside/secret"), "x");
        File.SetUnixFileMode(PathOf("locked"), UnixFileMode.None);
        // Root enters any directory (CAP_DAC_OVERRIDE); only a user is kept out.
        if (!IsRoot)
            ExpectedMissing.Add("/locked");

        if (IsRoot)
        {
            RawPathFiles.MakeNode(Encoding.UTF8.GetBytes(PathOf("dir/null")), Stat.S_IFCHR | 0x1B6 /* 0666 */, Stat.makedev(1, 3));
            RawPathFiles.MakeNode(Encoding.UTF8.GetBytes(PathOf("dir/sda")), Stat.S_IFBLK | 0x1B0 /* 0660 */, Stat.makedev(8, 0));
            RawPathFiles.MakeNode(Encoding.UTF8.GetBytes(PathOf("dir/big-minor")), Stat.S_IFCHR | 0x180 /* 0600 */, Stat.makedev(4095, 1_000_000));
            File.WriteAllText(PathOf("ping"), "\x7fELF pretend binary");
            RawPathFiles.SetXattr(Encoding.UTF8.GetBytes(PathOf("ping")), "security.capability"u8, NetRawCapability);
            Chown("hello.txt", "1234:5678");
            Chown("dir/sub", "4000:4001");
            Chown("link-to-hello", "77:88");
            Chown("fifo", "65534:65534");
        }

        // Timestamps last, children before parents, with nanoseconds that are not round.
        var when = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc).AddTicks(1234567);
        foreach (string file in Directory.EnumerateFiles(Root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            if (new FileInfo(file).LinkTarget is null && !file.EndsWith("fifo") && !file.EndsWith("socket") && !file.Contains('\uFFFD'))
                File.SetLastWriteTimeUtc(file, when);
            when = when.AddSeconds(17).AddTicks(31);
        }
        foreach (string dir in Directory.EnumerateDirectories(Root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).OrderByDescending(d => d.Length))
            Directory.SetLastWriteTimeUtc(dir, when = when.AddTicks(99));
    }

    private void Chown(string rel, string owner) => Run("chown", "-h", owner, PathOf(rel));

    private static void Run(string file, params string[] arguments)
    {
        using var p = Process.Start(file, arguments);
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed");
    }

    public void Dispose()
    {
        if (Directory.Exists(PathOf("locked")))
            File.SetUnixFileMode(PathOf("locked"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // rm, because .NET cannot name (so cannot delete) a file whose name is not UTF-8.
        Run("rm", "-rf", "--one-file-system", Root);
    }
}
