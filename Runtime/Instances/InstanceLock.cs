using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Runtime.Paths;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// Proof of life of an instance: an exclusive flock(2) on <c>instance/&lt;pid&gt;/.lock</c>, held
/// for the whole run and released by the kernel when the launcher dies, however it dies.
///
/// Overview: a pid alone cannot tell a live instance from a dead one — pids are reused, and a
/// check-then-delete races with a new launcher that got the same pid. So the cleaner of dead
/// instances (<see cref="DeadInstances"/>) deletes a directory only while it holds that
/// directory's lock, and a starting launcher takes its lock and then verifies that the lock file
/// it holds is still the one in its directory (a cleaner may have removed the old directory
/// between its open and its lock), starting over if not.
/// </summary>
public sealed class InstanceLock : IDisposable
{
    private readonly SafeFileHandle _file;
    private IDisposable? _dataDirectoryLock;

    private InstanceLock(SafeFileHandle file) => _file = file;

    /// <summary>
    /// Keeps the run's shared <see cref="DataDirectoryLock"/> for exactly as long as this instance
    /// lives: whoever owns the instance lock (InstanceActor) releases both together.
    /// </summary>
    public void Hold(DataDirectoryLock dataDirectoryLock) => _dataDirectoryLock = dataDirectoryLock;

    public const string FileName = ".lock";

    /// <summary>Creates the instance directory (removing a stale one a dead process with our pid left) and locks it.</summary>
    public static InstanceLock Acquire(string instanceDirectory)
    {
        for (int attempt = 0; ; attempt++)
        {
            RuntimeDirectory.CreateChild(instanceDirectory);
            string path = Path.Combine(instanceDirectory, FileName);
            var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite);
            FileLocks.Flock(file, SysFile.LOCK_EX, path);
            if (StillLinked(file, path))
                return new InstanceLock(file);
            file.Dispose();
            if (attempt > 100)
                throw new IOException($"cannot lock the instance directory {instanceDirectory}");
        }
    }

    /// <summary>Takes the lock of a directory that may be dead; null when its instance is alive (or the lock file is gone).</summary>
    public static InstanceLock? TryAcquireDead(string instanceDirectory)
    {
        string path = Path.Combine(instanceDirectory, FileName);
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // No lock file: a directory from before locks existed, or half created/removed. Lock
            // the directory itself through a fresh lock file so a starter with this pid waits.
            try
            {
                file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite);
            }
            catch (IOException)
            {
                return null;
            }
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        bool taken;
        try
        {
            taken = FileLocks.Flock(file, SysFile.LOCK_EX | SysFile.LOCK_NB, path);
        }
        catch (ErrnoException)
        {
            taken = false;
        }
        if (!taken || !StillLinked(file, path))
        {
            file.Dispose();
            return null;
        }
        return new InstanceLock(file);
    }

    public void Dispose()
    {
        _dataDirectoryLock?.Dispose();
        _file.Dispose();
    }

    /// <summary>The locked file is still the one at <paramref name="path"/> (same inode), not an unlinked leftover.</summary>
    private static bool StillLinked(SafeFileHandle file, string path)
    {
        if (Native.Io.FileStatus.TryLstat(System.Text.Encoding.UTF8.GetBytes(path), out var onDisk) != 0)
            return false;
        bool added = false;
        file.DangerousAddRef(ref added);
        try
        {
            string fdPath = $"/proc/self/fd/{(int)file.DangerousGetHandle()}";
            return Native.Io.FileStatus.TryStat(System.Text.Encoding.UTF8.GetBytes(fdPath), out var open) == 0
                && open.Inode == onDisk.Inode && open.Device == onDisk.Device;
        }
        finally
        {
            file.DangerousRelease();
        }
    }
}
