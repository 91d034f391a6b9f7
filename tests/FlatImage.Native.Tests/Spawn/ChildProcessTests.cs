using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Native.Spawn;
using Xunit;

namespace FlatImage.Native.Tests.Spawn;

/// <summary>One thread waits for a process and a connection at once (the portal session's loop).</summary>
public sealed unsafe class ChildProcessTests
{
    [Fact]
    public void Waiting_for_exit_or_a_readable_fd_returns_whichever_comes_first()
    {
        int* pipe = stackalloc int[2];
        Assert.Equal(0, Unistd.pipe2(pipe, Fcntl.O_CLOEXEC));
        using var readEnd = new SafeFd(pipe[0]);
        using var writeEnd = new SafeFd(pipe[1]);
        using var child = ChildProcess.Start("/bin/sh", ["sh", "-c", "sleep 0.3; exit 7"], ChildProcess.EnvironmentWith());

        // Something to read while the child still runs: null, and the child is left running.
        byte one = 1;
        Assert.Equal(1, (int)Unistd.write(writeEnd.Fd, &one, 1));
        Assert.Null(child.WaitForExitOrReadable(readEnd));
        Assert.Null(child.ExitStatus);

        // Drained: now only the exit can end the wait, and it reaps the child.
        Assert.Equal(1, (int)Unistd.read(readEnd.Fd, &one, 1));
        int? status = child.WaitForExitOrReadable(readEnd);
        Assert.NotNull(status);
        Assert.Equal(7, Wait.WEXITSTATUS(status!.Value));
        Assert.Equal(status, child.ExitStatus);
    }

    [Fact]
    public void A_hung_up_peer_ends_the_wait_too()
    {
        int* pipe = stackalloc int[2];
        Assert.Equal(0, Unistd.pipe2(pipe, Fcntl.O_CLOEXEC));
        using var readEnd = new SafeFd(pipe[0]);
        using var child = ChildProcess.Start("/bin/sleep", ["sleep", "30"], ChildProcess.EnvironmentWith());
        new SafeFd(pipe[1]).Dispose();
        Assert.Null(child.WaitForExitOrReadable(readEnd));
        child.Kill(Signal.SIGKILL);
        Assert.Equal(Signal.SIGKILL, Wait.WTERMSIG(child.WaitForExitOrReadable(readEnd) ?? child.WaitForExit(TimeSpan.FromSeconds(10))!.Value));
    }

    [Fact]
    public void Stop_asks_first_and_kills_only_a_child_that_does_not_listen()
    {
        using var polite = ChildProcess.Start("/bin/sleep", ["sleep", "30"], ChildProcess.EnvironmentWith());
        Assert.Equal(Signal.SIGTERM, Wait.WTERMSIG(polite.Stop(TimeSpan.FromSeconds(5), Signal.SIGTERM)!.Value));

        // Ignores SIGTERM: killed once the grace has passed.
        using var deaf = ChildProcess.Start("/bin/sh", ["sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"], ChildProcess.EnvironmentWith());
        Thread.Sleep(200); // the trap is set
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(Signal.SIGKILL, Wait.WTERMSIG(deaf.Stop(TimeSpan.FromMilliseconds(300), Signal.SIGTERM)!.Value));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(300), clock.Elapsed.ToString());

        // Already gone: its status, nothing sent.
        Assert.Equal(Signal.SIGKILL, Wait.WTERMSIG(deaf.Stop(TimeSpan.Zero, Signal.SIGTERM)!.Value));
    }
}
