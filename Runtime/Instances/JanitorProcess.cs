using System.Text;
using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Native.Spawn;

namespace FlatImage.Runtime.Instances;

/// <summary>
/// The launcher's side of the janitor (<see cref="MountJanitor"/>): starts it with the read end of
/// a pipe as its stdin and keeps the only write end. The write end is O_CLOEXEC, so neither bwrap
/// nor an overlay daemon holds it: when this process dies, however it dies, the janitor reads EOF.
/// </summary>
public sealed class JanitorProcess : IDisposable
{
    /// <summary>Set in the janitor's environment; the launcher's Main turns into <see cref="MountJanitor.Run"/>.</summary>
    public const string ModeVariable = "_FIM_JANITOR";

    private readonly ChildProcess _child;
    private readonly FileStream _writer;
    private readonly Lock _gate = new();

    private JanitorProcess(ChildProcess child, FileStream writer)
    {
        _child = child;
        _writer = writer;
    }

    public static unsafe JanitorProcess Start(string program)
    {
        int* fds = stackalloc int[2];
        if (Unistd.pipe2(fds, Fcntl.O_CLOEXEC) < 0)
            throw ErrnoException.FromLastError("pipe2");
        using var readEnd = new SafeFd(fds[0]);
        var writeEnd = new Microsoft.Win32.SafeHandles.SafeFileHandle(fds[1], ownsHandle: true);
        using var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
        var env = ChildProcess.EnvironmentWith((ModeVariable, "1"), ("_FIM_IMAGE", null));
        // stdin = the pipe; stdout/stderr = /dev/null so the janitor never keeps a caller's pipe open.
        var child = ChildProcess.Start(program, [program], env, [(readEnd, 0), (devNull, 1), (devNull, 2)]);
        return new JanitorProcess(child, new FileStream(writeEnd, FileAccess.Write, bufferSize: 0));
    }

    public void Mounted(string path) => Send($"mount {path}");
    public void Unmounted(string path) => Send($"unmount {path}");
    public void RemoveAtExit(string directory) => Send($"remove {directory}");

    private void Send(string line)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(line + "\n");
        lock (_gate)
            _writer.Write(bytes);
    }

    /// <summary>Closes the pipe (the janitor then cleans up and exits) and reaps the janitor.</summary>
    public void Dispose()
    {
        _writer.Dispose();
        _child.WaitForExit(TimeSpan.FromSeconds(10));
        _child.Dispose();
    }
}
