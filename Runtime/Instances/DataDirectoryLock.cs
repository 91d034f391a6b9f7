using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// A flock(2) on <c>&lt;data dir&gt;/.lock</c> that keeps a commit and the runs of one data directory
/// apart. Every run holds it shared for its whole life; a commit takes it exclusive without
/// waiting, and so sees any run — even one of another image copy, or under another runtime
/// directory, which the instance directories would not show. A commit rewrites the writable layer
/// a live fuse-overlayfs is serving, which could lose the user's data, so it is refused instead
/// (docs/cli.md §13.5). The kernel drops the lock when its holder dies, however it dies.
/// </summary>
public sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = ".lock";

    private readonly SafeFileHandle _file;

    private DataDirectoryLock(SafeFileHandle file) => _file = file;

    /// <summary>For a run: waits while a commit holds the directory.</summary>
    public static DataDirectoryLock AcquireShared(string dataDirectory) =>
        Take(dataDirectory, SysFile.LOCK_SH) ?? throw new IOException($"cannot lock {dataDirectory}");

    /// <summary>For a commit: null when a run (or another commit) holds the directory.</summary>
    public static DataDirectoryLock? TryAcquireExclusive(string dataDirectory) =>
        Take(dataDirectory, SysFile.LOCK_EX | SysFile.LOCK_NB);

    public void Dispose() => _file.Dispose();

    private static DataDirectoryLock? Take(string dataDirectory, int operation)
    {
        string path = Path.Combine(dataDirectory, FileName);
        // O_CLOEXEC (the .NET default): the sandbox and the overlay must not inherit the lock,
        // or it would outlive the launcher.
        var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Read);
        try
        {
            if (FileLocks.Flock(file, operation, path))
                return new DataDirectoryLock(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
        file.Dispose();
        return null;
    }
}
