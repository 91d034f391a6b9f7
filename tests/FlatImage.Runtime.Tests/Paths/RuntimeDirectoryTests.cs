using FlatImage.Native.Interop;
using FlatImage.Runtime.Paths;

namespace FlatImage.Runtime.Tests.Paths;

public sealed class RuntimeDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-rt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Creates_a_private_directory()
    {
        string path = RuntimeDirectory.EnsurePrivate(Path.Combine(_dir, "fim"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
        Assert.Equal(path, RuntimeDirectory.EnsurePrivate(path));
    }

    [Fact]
    public void Refuses_a_symlink()
    {
        string target = Directory.CreateDirectory(Path.Combine(_dir, "elsewhere")).FullName;
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string link = Path.Combine(_dir, "fim");
        File.CreateSymbolicLink(link, target);
        var e = Assert.Throws<UnsafeDirectoryException>(() => RuntimeDirectory.EnsurePrivate(link));
        Assert.Contains("symbolic link", e.Message);
    }

    [Fact]
    public void Refuses_a_directory_open_to_others()
    {
        string path = Directory.CreateDirectory(Path.Combine(_dir, "fim")).FullName;
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        Assert.Throws<UnsafeDirectoryException>(() => RuntimeDirectory.EnsurePrivate(path));
    }

    [Fact]
    public void Refuses_a_directory_owned_by_someone_else()
    {
        if (Unistd.getuid() != 0)
            return; // only root can make a directory someone else's; the e2e suite also runs this as a user
        string path = Directory.CreateDirectory(Path.Combine(_dir, "fim")).FullName;
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Assert.Equal(0, Chown(path, 65534));
        var e = Assert.Throws<UnsafeDirectoryException>(() => RuntimeDirectory.EnsurePrivate(path));
        Assert.Contains("owned by uid 65534", e.Message);
    }

    private static int Chown(string path, int uid)
    {
        using var p = System.Diagnostics.Process.Start("chown", [uid.ToString(), path]);
        p.WaitForExit();
        return p.ExitCode;
    }
}
