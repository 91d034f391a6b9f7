using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;

namespace FlatImage.Native.Spawn;

/// <summary>
/// A child started with posix_spawn(3) (never a managed fork). It is waited for by its own pid
/// (or pidfd), never by waitpid(-1): the .NET runtime fails fast if someone reaps a child that
/// <c>Process</c> started (see docs/contributing.md, "Pitfalls").
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly object _gate = new();
    private int? _exitStatus; // raw wait status, protected by _gate
    private readonly object _reapGate = new(); // serializes waitpid for this child

    private ChildProcess(int pid, SafeFd? pidFd)
    {
        Pid = pid;
        PidFd = pidFd;
    }

    public int Pid { get; }

    /// <summary>pidfd_open(2) of the child, to wait with a timeout; null on kernels before 5.3.</summary>
    public SafeFd? PidFd { get; }

    /// <summary>The raw wait status once reaped.</summary>
    public int? ExitStatus { get { lock (_gate) return _exitStatus; } }

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="argv"/> and <paramref name="environment"/>
    /// ("NAME=value"). Every fd of ours is O_CLOEXEC, so the child gets stdin/stdout/stderr plus
    /// exactly the fds in <paramref name="inheritFds"/>: each (parent fd, child fd) pair becomes a
    /// posix_spawn_file_actions_adddup2 (dup2 clears FD_CLOEXEC on the new number; the child
    /// numbers may collide with the parent's: see below). Signal dispositions are reset to
    /// default and the mask is emptied (POSIX_SPAWN_SETSIGDEF/SETSIGMASK), because the runtime
    /// ignores SIGPIPE and exec keeps ignored signals ignored. <paramref name="closeFds"/> are closed
    /// in the child (a caller whose own stdin was closed gets a child without one), and
    /// <paramref name="workingDirectory"/>, when given, is the child's directory.
    /// </summary>
    /// <remarks>
    /// Every child is created on <see cref="SpawnThread"/>, never on the caller's thread: a child's
    /// PR_SET_PDEATHSIG follows the thread that created it, and the caller may be a pool thread
    /// that .NET retires while the child still runs.
    /// </remarks>
    public static ChildProcess Start(string path, IReadOnlyList<string> argv, IReadOnlyList<string> environment,
        IReadOnlyList<(SafeHandle Fd, int ChildFd)>? inheritFds = null, string? workingDirectory = null, IReadOnlyList<int>? closeFds = null) =>
        SpawnThread.Run(() => Spawn(path, argv, environment, inheritFds, workingDirectory, closeFds));

    private static unsafe ChildProcess Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> environment,
        IReadOnlyList<(SafeHandle Fd, int ChildFd)>? inheritFds, string? workingDirectory, IReadOnlyList<int>? closeFds)
    {
        var strings = new List<IntPtr>();
        var copies = new List<SafeFd>();
        var refs = new List<SafeHandle>();
        Interop.Spawn.posix_spawn_file_actions_t actions;
        Interop.Spawn.posix_spawnattr_t attr;
        Signal.sigset_t all, none;
        byte** envp = null;
        Interop.Spawn.posix_spawn_file_actions_init(&actions);
        Interop.Spawn.posix_spawnattr_init(&attr);
        try
        {
            byte* Utf8(string s)
            {
                var p = Marshal.StringToCoTaskMemUTF8(s);
                strings.Add(p);
                return (byte*)p;
            }

            var argvPtr = stackalloc byte*[argv.Count + 1];
            for (int i = 0; i < argv.Count; i++) argvPtr[i] = Utf8(argv[i]);
            argvPtr[argv.Count] = null;
            envp = (byte**)NativeMemory.Alloc((nuint)(environment.Count + 1), (nuint)sizeof(byte*));
            for (int i = 0; i < environment.Count; i++) envp[i] = Utf8(environment[i]);
            envp[environment.Count] = null;

            var childNumbers = (inheritFds ?? []).Select(i => i.ChildFd).ToHashSet();
            foreach (var (fd, childFd) in inheritFds ?? [])
            {
                bool added = false;
                fd.DangerousAddRef(ref added);
                refs.Add(fd);
                int parentFd = (int)fd.DangerousGetHandle();
                // The dup2 actions run in order in the child: a parent fd that has a child number of
                // this list (its own: dup2 onto itself would keep O_CLOEXEC; another's: an earlier
                // dup2 would have replaced it) is first copied out of the way, above them all.
                if (childNumbers.Contains(parentFd))
                {
                    int moved = Fcntl.fcntl(parentFd, Fcntl.F_DUPFD_CLOEXEC, 100);
                    if (moved < 0) throw ErrnoException.FromLastError("fcntl F_DUPFD_CLOEXEC", path);
                    var copy = new SafeFd(moved);
                    copies.Add(copy);
                    parentFd = moved;
                }
                int rc = Interop.Spawn.posix_spawn_file_actions_adddup2(&actions, parentFd, childFd);
                if (rc != 0) throw new ErrnoException(rc, "posix_spawn_file_actions_adddup2", path);
            }

            foreach (int fd in closeFds ?? [])
            {
                int rc = Interop.Spawn.posix_spawn_file_actions_addclose(&actions, fd);
                if (rc != 0) throw new ErrnoException(rc, "posix_spawn_file_actions_addclose", path);
            }
            if (workingDirectory is not null)
            {
                int rc = Interop.Spawn.posix_spawn_file_actions_addchdir_np(&actions, Utf8(workingDirectory));
                if (rc != 0) throw new ErrnoException(rc, "posix_spawn_file_actions_addchdir_np", workingDirectory);
            }

            Signal.sigfillset(&all);
            Signal.sigemptyset(&none);
            Interop.Spawn.posix_spawnattr_setsigdefault(&attr, &all);
            Interop.Spawn.posix_spawnattr_setsigmask(&attr, &none);
            Interop.Spawn.posix_spawnattr_setflags(&attr,
                (short)(Interop.Spawn.POSIX_SPAWN_SETSIGDEF | Interop.Spawn.POSIX_SPAWN_SETSIGMASK));

            int pid;
            // posix_spawn returns the error number instead of setting errno.
            int err = Interop.Spawn.posix_spawn(&pid, Utf8(path), &actions, &attr, argvPtr, envp);
            if (err != 0) throw new ErrnoException(err, "posix_spawn", path);

            // The pid cannot be reused before we reap it, so opening its pidfd now is race-free.
            int pfd = Pidfd.pidfd_open(pid, 0);
            return new ChildProcess(pid, pfd >= 0 ? new SafeFd(pfd) : null);
        }
        finally
        {
            foreach (var r in refs) r.DangerousRelease();
            foreach (var c in copies) c.Dispose();
            Interop.Spawn.posix_spawn_file_actions_destroy(&actions);
            Interop.Spawn.posix_spawnattr_destroy(&attr);
            foreach (var p in strings) Marshal.FreeCoTaskMem(p);
            NativeMemory.Free(envp);
        }
    }

    /// <summary>The current environment as "NAME=value" strings, with <paramref name="overrides"/> applied.</summary>
    public static List<string> EnvironmentWith(params (string Name, string? Value)[] overrides)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            env[(string)e.Key] = (string?)e.Value ?? "";
        foreach (var (name, value) in overrides)
        {
            if (value is null) env.Remove(name);
            else env[name] = value;
        }
        var list = new List<string>(env.Count);
        foreach (var kv in env) list.Add(kv.Key + "=" + kv.Value);
        return list;
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the child to exit and reaps it by pid.
    /// Returns the raw wait status, or null on timeout (<see cref="Timeout.InfiniteTimeSpan"/>
    /// waits forever). The wait itself holds no lock, so <see cref="Kill"/> works meanwhile.
    /// </summary>
    public unsafe int? WaitForExit(TimeSpan timeout)
    {
        if (ExitStatus is { } done) return done;
        bool infinite = timeout == Timeout.InfiniteTimeSpan;
        var deadline = infinite ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        if (PidFd is not null)
        {
            // A pidfd becomes readable when the process exits (pidfd_open(2)). Every waiter polls it
            // without a lock; only the reaping below is serialized, so two threads waiting for the
            // same child (an owner's watcher and its teardown) never race each other's waitpid.
            bool added = false;
            PidFd.DangerousAddRef(ref added);
            try
            {
                while (true)
                {
                    var pfd = new Poll.pollfd { fd = PidFd.Fd, events = Poll.POLLIN };
                    int wait = infinite ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
                    int n = Poll.poll(&pfd, 1, wait);
                    if (n > 0) break;
                    if (n == 0) return null;
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != Errno.EINTR) throw new ErrnoException(errno, "poll pidfd");
                }
            }
            finally { PidFd.DangerousRelease(); }
        }
        while (true)
        {
            lock (_reapGate)
            {
                if (ExitStatus is { } other) return other;
                int status;
                // With a pidfd the child has exited and waitpid returns at once; without one, poll
                // with WNOHANG and short sleeps (never block while holding the reap lock).
                int r = Wait.waitpid(Pid, &status, Wait.WNOHANG);
                if (r == Pid)
                {
                    lock (_gate) _exitStatus = status;
                    return status;
                }
                if (r < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != Errno.EINTR) throw new ErrnoException(errno, "waitpid");
                    continue;
                }
            }
            if (Environment.TickCount64 >= deadline) return null;
            Thread.Sleep(PidFd is null ? 10 : 1);
        }
    }

    /// <summary>
    /// Waits until the child exits or <paramref name="other"/> becomes readable (or hangs up),
    /// whichever comes first, so that one thread can serve both a process and the connection that
    /// asked for it. Returns the raw wait status once the child is reaped, or null when
    /// <paramref name="other"/> is ready first.
    /// </summary>
    public unsafe int? WaitForExitOrReadable(SafeHandle other)
    {
        if (ExitStatus is { } done) return done;
        bool otherAdded = false, pidAdded = false;
        other.DangerousAddRef(ref otherAdded);
        PidFd?.DangerousAddRef(ref pidAdded);
        try
        {
            var fds = stackalloc Poll.pollfd[2];
            fds[0] = new Poll.pollfd { fd = (int)other.DangerousGetHandle(), events = Poll.POLLIN };
            fds[1] = new Poll.pollfd { fd = PidFd?.Fd ?? -1, events = Poll.POLLIN };
            while (true)
            {
                // Without a pidfd (kernels before 5.3) the exit is noticed by waitpid between short polls.
                int n = Poll.poll(fds, PidFd is null ? 1u : 2u, PidFd is null ? 10 : -1);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != Errno.EINTR) throw new ErrnoException(errno, "poll");
                    continue;
                }
                if (fds[1].revents != 0 || PidFd is null)
                {
                    if (WaitForExit(PidFd is null ? TimeSpan.Zero : Timeout.InfiniteTimeSpan) is { } status)
                        return status;
                }
                if (fds[0].revents != 0)
                    return null;
            }
        }
        finally
        {
            if (pidAdded) PidFd!.DangerousRelease();
            if (otherAdded) other.DangerousRelease();
        }
    }

    /// <summary>
    /// Ends the child the one way every owner does: <paramref name="signal"/> first when given
    /// (the polite request), up to <paramref name="grace"/> to exit by itself, then SIGKILL and up
    /// to 2 s more to be reaped (a process stuck on a dead FUSE mount may take a moment even then;
    /// the owner must not hang on it). Returns the wait status, or null if it still has not gone.
    /// </summary>
    public int? Stop(TimeSpan grace, int? signal = null)
    {
        if (ExitStatus is { } done)
            return done;
        if (signal is { } first)
            Kill(first);
        if (WaitForExit(grace) is { } status)
            return status;
        Kill(Signal.SIGKILL);
        return WaitForExit(TimeSpan.FromSeconds(2));
    }

    /// <summary>Sends <paramref name="signal"/> through the pidfd (no pid-reuse race), or kill(2).</summary>
    public unsafe void Kill(int signal)
    {
        lock (_gate)
        {
            if (_exitStatus is not null) return;
            int rc;
            if (PidFd is not null)
            {
                bool added = false;
                PidFd.DangerousAddRef(ref added);
                try { rc = Pidfd.pidfd_send_signal(PidFd.Fd, signal, null, 0); }
                finally { PidFd.DangerousRelease(); }
            }
            else rc = Signal.kill(Pid, signal);
            if (rc != 0 && Marshal.GetLastPInvokeError() != Errno.ESRCH)
                throw ErrnoException.FromLastError("kill");
        }
    }

    /// <summary>Human-readable form of a wait status: "exited with status 1", "killed by signal 9".</summary>
    public static string Describe(int status) => Wait.WIFEXITED(status)
        ? $"exited with status {Wait.WEXITSTATUS(status)}"
        : $"killed by signal {Wait.WTERMSIG(status)}";

    public void Dispose() => PidFd?.Dispose();
}
