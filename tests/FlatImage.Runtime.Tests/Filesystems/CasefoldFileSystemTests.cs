using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Filesystems;

namespace FlatImage.Runtime.Tests.Filesystems;

/// <summary>
/// The casefold filesystem served through a real root FUSE mount (mount(2)) over a real directory,
/// driven by ordinary syscalls and tools: every write opcode, the case rules, and what reaches the
/// backing directory. Needs root.
/// </summary>
[Collection("fuse")]
public sealed unsafe class CasefoldFileSystemTests : IDisposable
{
    private readonly string _backing = Directory.CreateTempSubdirectory("fim-casefold-backing-").FullName;
    private readonly string _mountpoint = Directory.CreateTempSubdirectory("fim-casefold-mount-").FullName;
    private readonly List<string> _log = [];
    private readonly CasefoldMount _mount;

    public CasefoldFileSystemTests()
    {
        _mount = CasefoldMount.Start(new CasefoldMountOptions(_backing, _mountpoint) { Log = l => { lock (_log) _log.Add(l); } });
    }

    public void Dispose()
    {
        _mount.Dispose();
        Directory.Delete(_mountpoint);
        // rm, not Directory.Delete: some tests leave names that are not valid UTF-8.
        Tool("rm", "-rf", _backing);
    }

    private string M(string relative) => Path.Combine(_mountpoint, relative);
    private string B(string relative) => Path.Combine(_backing, relative);

    [Fact]
    public void A_wine_style_tree_opens_in_any_case_and_lists_the_stored_case()
    {
        Directory.CreateDirectory(M("Game/Data"));
        File.WriteAllText(M("Game/Data/File.TXT"), "payload");
        Assert.Equal("payload", File.ReadAllText(M("game/data/file.txt")));
        Assert.Equal("payload", File.ReadAllText(M("GAME/DATA/FILE.TXT")));
        Assert.Equal(["File.TXT"], Directory.GetFileSystemEntries(M("gAmE/dAtA")).Select(Path.GetFileName));
        Assert.True(File.Exists(B("Game/Data/File.TXT")));
        Assert.False(File.Exists(M("game/data/other.txt")));
    }

    [Fact]
    public void Mkdir_p_in_mixed_case_then_stat_in_lower_case()
    {
        Assert.Equal(0, Tool("mkdir", "-p", M("hElLo/WoRlD")).ExitCode);
        Assert.Equal("directory", Run("stat", "-c", "%F", M("hello/world")).Trim());
        Assert.True(Directory.Exists(B("hElLo/WoRlD")));
        // mkdir of another spelling of an existing name fails as on Windows.
        Assert.NotEqual(0, Tool("mkdir", M("HELLO")).ExitCode);
    }

    [Fact]
    public void Creating_another_case_opens_the_existing_file_and_rename_keeps_the_new_case()
    {
        File.WriteAllText(M("file.txt"), "one");
        File.AppendAllText(M("FILE.TXT"), "+two");
        Assert.Equal(["file.txt"], Directory.GetFiles(_backing).Select(Path.GetFileName));
        Assert.Equal("one+two", File.ReadAllText(B("file.txt")));

        Assert.Equal(0, Rename2(M("file.txt"), M("FILE.txt"), 0));
        Assert.Equal(["FILE.txt"], Directory.GetFiles(_backing).Select(Path.GetFileName));
        Assert.Equal("one+two", File.ReadAllText(M("file.TXT")));

        // Onto an existing name in another case: the target is replaced, the new spelling kept.
        File.WriteAllText(M("Other.bin"), "other");
        Assert.Equal(0, Tool("mv", "-f", M("file.txt"), M("OTHER.BIN")).ExitCode);
        Assert.Equal(["OTHER.BIN"], Directory.GetFiles(_backing).Select(Path.GetFileName));
        Assert.Equal("one+two", File.ReadAllText(M("other.bin")));

        // renameat2(RENAME_NOREPLACE) refuses any spelling of an existing name.
        File.WriteAllText(M("a.txt"), "a");
        Assert.Equal(Errno.EEXIST, Rename2(M("a.txt"), M("other.BIN"), StdioAt.RENAME_NOREPLACE));
        // RENAME_EXCHANGE swaps two entries, each keeping its stored name.
        Assert.Equal(0, Rename2(M("A.TXT"), M("other.bin"), StdioAt.RENAME_EXCHANGE));
        Assert.Equal("one+two", File.ReadAllText(B("a.txt")));
        Assert.Equal("a", File.ReadAllText(B("OTHER.BIN")));
    }

    [Fact]
    public void Deleting_through_another_case_removes_the_stored_entry()
    {
        Directory.CreateDirectory(M("Dir"));
        File.WriteAllText(M("Dir/Note.md"), "x");
        File.Delete(M("DIR/NOTE.MD"));
        Assert.False(File.Exists(B("Dir/Note.md")));
        Assert.False(File.Exists(M("Dir/Note.md")));
        Directory.Delete(M("dir"));
        Assert.False(Directory.Exists(B("Dir")));
        // The kernel's cached "Dir" is dropped by a notification the server queues after the
        // rmdir (written from its own loop: the kernel holds the directory's lock during the
        // request), so it may outlive the syscall by a moment; it must go, and soon.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Tool("stat", M("Dir")).ExitCode == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the kernel still shows 'Dir' 10 s after it was removed as 'dir'");
            Thread.Sleep(20);
        }
    }

    [Fact]
    public void Many_threads_creating_a_and_A_at_once_make_one_file()
    {
        for (int round = 0; round < 10; round++)
        {
            string dir = M($"race{round}");
            Directory.CreateDirectory(dir);
            Parallel.For(0, 16, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i =>
            {
                using var f = new FileStream(Path.Combine(dir, i % 2 == 0 ? "a" : "A"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
                f.Seek(0, SeekOrigin.End);
                f.WriteByte((byte)'x');
            });
            var names = Directory.GetFiles(B($"race{round}")).Select(Path.GetFileName).ToList();
            Assert.Single(names);
            Assert.Contains(names[0], new[] { "a", "A" });
        }
    }

    [Fact]
    public void Hard_links_symlinks_fifos_and_attributes_pass_through()
    {
        File.WriteAllText(M("Target.txt"), "linked");
        Assert.Equal(0, Tool("ln", M("target.TXT"), M("Hard.txt")).ExitCode);
        Assert.Equal(Run("stat", "-c", "%i %h", B("Target.txt")), Run("stat", "-c", "%i %h", B("Hard.txt")));
        Assert.Equal("2", Run("stat", "-c", "%h", M("hard.txt")).Trim());
        Assert.Equal(0, Tool("ln", "-s", "Target.txt", M("Soft")).ExitCode);
        Assert.Equal("Target.txt", Run("readlink", M("soft")).Trim());
        Assert.Equal("linked", File.ReadAllText(M("SOFT")));
        Assert.Equal("symbolic link", Run("stat", "-c", "%F", B("Soft")).Trim());
        Assert.Equal(0, Tool("mkfifo", M("Pipe")).ExitCode);
        Assert.Equal("fifo", Run("stat", "-c", "%F", B("Pipe")).Trim());

        Assert.Equal(0, Tool("chmod", "640", M("TARGET.txt")).ExitCode);
        Assert.Equal(0, Tool("chown", "1234:2345", M("target.txt")).ExitCode);
        Assert.Equal(0, Tool("truncate", "-s", "3", M("target.txt")).ExitCode);
        Assert.Equal(0, Tool("touch", "-d", "2001-02-03 04:05:06Z", M("target.txt")).ExitCode);
        Assert.Equal("640 1234:2345 981173106 3", Run("stat", "-c", "%a %u:%g %Y %s", B("Target.txt")).Trim());
        Assert.Equal("640 1234:2345 981173106 3", Run("stat", "-c", "%a %u:%g %Y %s", M("target.txt")).Trim());
        Assert.Equal(0, Tool("touch", "-h", "-d", "2002-02-03 04:05:06Z", M("soft")).ExitCode);
        Assert.Equal("1012709106", Run("stat", "-c", "%Y", B("Soft")).Trim());

        Assert.Equal(0, Tool("setfattr", "-n", "user.note", "-v", "kept", M("target.txt")).ExitCode);
        Assert.Equal("kept", Run("getfattr", "--only-values", "-n", "user.note", B("Target.txt")));
        Assert.Contains("user.note", Run("getfattr", "-d", M("TARGET.TXT")));
        Assert.Equal(0, Tool("setfattr", "-x", "user.note", M("target.txt")).ExitCode);
        Assert.NotEqual(0, Tool("getfattr", "-n", "user.note", B("Target.txt")).ExitCode);
    }

    [Fact]
    public void Writes_fsync_fallocate_lseek_and_copy_reach_the_backing_file()
    {
        var data = new byte[3 * 1024 * 1024 + 17];
        new Random(7).NextBytes(data);
        using (var f = new FileStream(M("Big.bin"), FileMode.Create, FileAccess.ReadWrite))
        {
            f.Write(data);
            f.Flush(flushToDisk: true); // FSYNC
        }
        Assert.Equal(data, File.ReadAllBytes(B("Big.bin")));
        Assert.Equal(0, Tool("fallocate", "-l", "8M", M("big.BIN")).ExitCode);
        Assert.Equal(8L * 1024 * 1024, new FileInfo(B("Big.bin")).Length);
        Assert.Equal(0, Tool("cp", M("big.bin"), M("Copy.bin")).ExitCode); // copy_file_range in coreutils 9
        Assert.Equal(File.ReadAllBytes(B("Big.bin")), File.ReadAllBytes(B("Copy.bin")));

        // A sparse file: SEEK_DATA from 0 lands on the data written at 1 MiB.
        using (var f = new FileStream(M("Sparse.bin"), FileMode.Create, FileAccess.Write))
        {
            f.Seek(1024 * 1024, SeekOrigin.Begin);
            f.WriteByte(1);
        }
        using var handle = File.OpenHandle(M("sparse.bin"));
        const int SEEK_DATA = 3;
        long at = Unistd.lseek((int)handle.DangerousGetHandle(), 0, SEEK_DATA);
        Assert.True(at is >= 0 and <= 1024 * 1024, $"SEEK_DATA gave {at} ({Marshal.GetLastPInvokeError()})");
        Directory.CreateDirectory(M("SyncDir"));
        Assert.Equal(0, Tool("sync", M("syncdir")).ExitCode); // FSYNCDIR
    }

    [Fact]
    public void A_hundred_thousand_entry_directory_is_listed_once_and_looked_up_in_any_case()
    {
        string dir = B("Huge");
        Directory.CreateDirectory(dir);
        Run("bash", "-c", $"cd {dir} && seq -f 'Entry%06g.Dat' 0 99999 | xargs touch");
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 100_000; i += 997)
            Assert.True(File.Exists(M($"huge/ENTRY{i:D6}.dat")), $"entry {i}");
        var lookups = sw.Elapsed;
        File.WriteAllText(M("HUGE/new.dat"), "n");
        Assert.True(File.Exists(M("huge/NEW.DAT")));
        var create = sw.Elapsed;
        Assert.Equal(100_001, Directory.EnumerateFileSystemEntries(M("huge")).Count());
        var listing = sw.Elapsed;
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"lookups {lookups}, create {create}, listing {listing}");
    }

    [Fact]
    public void Names_that_differ_only_in_case_stay_listed_and_the_exact_spelling_wins()
    {
        File.WriteAllText(B("readme"), "lower");
        File.WriteAllText(B("README"), "upper");
        Assert.Equal("lower", File.ReadAllText(M("readme")));
        Assert.Equal("upper", File.ReadAllText(M("README")));
        Assert.Equal("upper", File.ReadAllText(M("ReadMe"))); // ordinally smallest stored name
        Assert.Equal(["README", "readme"], Directory.GetFiles(_mountpoint).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        lock (_log) Assert.Single(_log, l => l.Contains("differ only in case"));
    }

    [Fact]
    public void Invalid_utf8_names_are_served_byte_exact()
    {
        byte[] name = [0x41, 0xff, 0x42];
        CreateRaw(B(""), name);
        var listed = Run("bash", "-c", $"ls {_mountpoint} | od -An -tx1").Trim();
        Assert.StartsWith("41 ff 42", listed);
        CreateRaw(_mountpoint, [0x61, 0xfe]);
        Assert.True(ExistsRaw(_backing, [0x61, 0xfe]));
        Assert.False(ExistsRaw(_mountpoint, [0x41, 0xfe]));
    }

    [Fact]
    public void A_symlink_planted_behind_a_known_name_is_never_followed()
    {
        string outside = Directory.CreateTempSubdirectory("fim-casefold-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "secret"), "secret");
            File.WriteAllText(M("Plain"), "plain");
            Assert.Equal("plain", File.ReadAllText(M("plain")));
            // Swapped behind the server's back while the kernel still holds the node as a file.
            File.Delete(B("Plain"));
            File.CreateSymbolicLink(B("Plain"), Path.Combine(outside, "secret"));
            var r = Tool("cat", M("Plain"));
            Assert.DoesNotContain("secret", r.Stdout);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Forgotten_nodes_are_freed()
    {
        for (int i = 0; i < 200; i++) File.WriteAllText(M($"n{i}"), "x");
        _ = Directory.GetFiles(_mountpoint).Length;
        File.WriteAllText("/proc/sys/vm/drop_caches", "2");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_mount.FileSystem.NodeCount > 20 && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.True(_mount.FileSystem.NodeCount <= 20, $"{_mount.FileSystem.NodeCount} nodes left");
    }

    private static int Rename2(string from, string to, uint flags)
    {
        var a = Encoding.UTF8.GetBytes(from + "\0");
        var b = Encoding.UTF8.GetBytes(to + "\0");
        fixed (byte* pa = a)
        fixed (byte* pb = b)
            return StdioAt.renameat2(Stat.AT_FDCWD, pa, Stat.AT_FDCWD, pb, flags) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    private static void CreateRaw(string dir, byte[] name)
    {
        var path = Encoding.UTF8.GetBytes(dir.TrimEnd('/') + "/").Concat(name).Append((byte)0).ToArray();
        fixed (byte* p = path)
        {
            int fd = Fcntl.open(p, Fcntl.O_WRONLY | Fcntl.O_CREAT | Fcntl.O_CLOEXEC, 0x1A4);
            Assert.True(fd >= 0, $"create failed: {Marshal.GetLastPInvokeError()}");
            Unistd.close(fd);
        }
    }

    private static bool ExistsRaw(string dir, byte[] name)
    {
        var path = Encoding.UTF8.GetBytes(dir.TrimEnd('/') + "/").Concat(name).Append((byte)0).ToArray();
        Stat.statx_t st;
        fixed (byte* p = path)
            return Stat.statx(Stat.AT_FDCWD, p, Stat.AT_SYMLINK_NOFOLLOW, Stat.STATX_BASIC_STATS, &st) == 0;
    }

    private static string Run(string file, params string[] args)
    {
        var r = Tool(file, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {r.Stderr}");
        return r.Stdout;
    }

    private static (int ExitCode, string Stdout, string Stderr) Tool(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var e = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, o, e.Result);
    }
}
