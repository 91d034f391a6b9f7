using FlatImage.Native.Interop;

namespace FlatImage.Native.Spawn;

/// <summary>Wait statuses as a shell reports them: the exit code, or 128+N for death by signal N.</summary>
public static class ExitStatus
{
    public static int ToShellStatus(int waitStatus) =>
        Wait.WIFEXITED(waitStatus) ? Wait.WEXITSTATUS(waitStatus) : 128 + Wait.WTERMSIG(waitStatus);
}
