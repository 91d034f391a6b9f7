using System.Diagnostics;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// The portal both ways, end to end with the published launcher and fim_portal, as root and as the
/// test user: fim_portal (guest → host, with the portal permission) and fim-instance list/exec
/// (host → guest, through fim_portal as the instance's init). Each test has its own runtime
/// directory (XDG_RUNTIME_DIR), so it sees only its own instances.
/// </summary>
public sealed class PortalTests : IDisposable
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    private readonly List<string> _runtimeDirectories = [];

    public void Dispose()
    {
        foreach (string dir in _runtimeDirectories)
            Launcher.RunProcess("rm", ["-rf", "--one-file-system", dir], null, null);
    }

    /// <summary>
    /// A busybox image (no libc in the guest: fim_portal runs from the tools bundle with its own
    /// loader), or with <paramref name="blueprint"/> the empty blueprint with no layers at all; the
    /// image's directory is bound rw at /outside, and runs get a private runtime directory short
    /// enough for socket paths (sun_path holds 108 bytes).
    /// </summary>
    private (string Image, string Dir, Dictionary<string, string?> Env) NewImage(Identity who, bool portal = true, bool blueprint = false)
    {
        string image = blueprint ? Launcher.NewImage(who) : BusyboxImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        string runtime = $"/tmp/fimx-{Guid.NewGuid():N}"[..18];
        Directory.CreateDirectory(runtime);
        File.SetUnixFileMode(runtime, (UnixFileMode)0b111_000_000);
        _runtimeDirectories.Add(runtime);
        if (who == Identity.User)
            Launcher.Chown(runtime);
        var env = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime };
        Assert.Equal(0, Launcher.Run(who, image, env, "fim-bind", "add", "rw", "$FIM_DIR_SELF", "/outside").ExitCode);
        if (portal)
            Assert.Equal(0, Launcher.Run(who, image, env, "fim-perms", "add", "portal").ExitCode);
        return (image, dir, env);
    }

    /// <summary>A guest without glibc where a dynamically linked program would look for it: fim_portal must bring its own.</summary>
    private const string NoGlibcInTheGuest = "test ! -e /lib64/ld-linux-x86-64.so.2 && test ! -e /lib/x86_64-linux-gnu/libc.so.6 || { echo guest-has-glibc; exit 99; }";

    [Theory]
    [MemberData(nameof(Identities))]
    public void Fim_portal_runs_in_the_empty_blueprint(Identity who)
    {
        var (image, _, env) = NewImage(who, blueprint: true);
        var direct = Launcher.Run(who, image, env, "fim-exec", "fim_portal", "echo", "hi");
        Assert.True(direct.ExitCode == 0, direct.ToString());
        Assert.Equal("hi\n", direct.Stdout);
        var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", $"{NoGlibcInTheGuest}; fim_portal sh -c 'echo from-host; exit 7'; echo rc=$?");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("from-host\nrc=7\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Instance_exec_reaches_an_instance_of_the_empty_blueprint(Identity who)
    {
        var (image, dir, env) = NewImage(who, portal: false, blueprint: true);
        using var run = Launcher.Start(who, image, env, "fim-exec", "sh", "-c", $"{NoGlibcInTheGuest}; echo private > /tmp/only-here; echo > /outside/started; sleep 60");
        try
        {
            Launcher.WaitForFile(Path.Combine(dir, "started"), run, "the instance never started");
            Assert.Equal($"0:{run.Id}\n", Launcher.Run(who, image, env, "fim-instance", "list").Stdout);
            var inside = Launcher.Run(who, image, env, "fim-instance", "exec", "0", "sh", "-c", "cat /tmp/only-here; exit 4");
            Assert.True(inside.ExitCode == 4, inside.ToString());
            Assert.Equal("private\n", inside.Stdout);
        }
        finally
        {
            Launcher.RunProcess("kill", ["-TERM", run.Id.ToString()], null, null);
            Launcher.Finish(run);
        }
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Host_commands_need_the_portal_permission(Identity who)
    {
        var (image, _, env) = NewImage(who, portal: false);
        var result = Launcher.Run(who, image, env, "fim-exec", "fim_portal", "echo", "host");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Equal("E::fim_portal::Running host commands needs the 'portal' permission (fim-perms add portal)\n", Errors(result));
        var bare = Launcher.Run(who, image, env, "fim-exec", "fim_portal");
        Assert.Equal(1, bare.ExitCode);
        Assert.Equal("E::fim_portal::No arguments for dispatcher\n", Errors(bare));
        // Outside any container.
        var outside = Launcher.RunProcess("env", ["-u", "FIM_DISPATCHER_CFG", Launcher.PortalPath, "true"], null, null);
        Assert.Equal(1, outside.ExitCode);
        Assert.Equal("E::fim_portal::Could not read variable 'FIM_DISPATCHER_CFG'\n", outside.Stderr);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Streams_pass_through_the_portal_both_ways(Identity who)
    {
        var (image, dir, env) = NewImage(who);
        // Binary stdin (every byte value, 4 MiB) through a host cat and back, compared inside.
        byte[] blob = new byte[4 << 20];
        new Random(6).NextBytes(blob);
        File.WriteAllBytes(Path.Combine(dir, "blob"), blob);
        if (who == Identity.User)
            Launcher.Chown(Path.Combine(dir, "blob"));
        string script = string.Join("; ",
            NoGlibcInTheGuest,
            "fim_portal cat < /outside/blob > /tmp/copy && cmp /outside/blob /tmp/copy && echo same",
            "fim_portal sh -c 'echo to-out; echo to-err >&2' 2>/tmp/err",
            "echo err=$(cat /tmp/err)",
            // A closed stdin stays closed on the host side; an empty one reads as end of file.
            "fim_portal sh -c 'test -e /proc/self/fd/0 && echo open || echo closed' <&-",
            "fim_portal wc -c < /dev/null",
            // The host side runs where the caller is, when that directory exists on the host.
            "cd /tmp && fim_portal pwd");
        var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", script);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("same\nto-out\nerr=to-err\nclosed\n0\n/tmp\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Exit_statuses_come_back_from_the_host(Identity who)
    {
        var (image, _, env) = NewImage(who);
        string script = string.Join("; ",
            "fim_portal true; echo $?",
            "fim_portal false; echo $?",
            "fim_portal sh -c 'exit 127'; echo $?",
            "fim_portal sh -c 'kill -TERM $$'; echo $?",
            "fim_portal sh -c 'kill -KILL $$'; echo $?",
            "fim_portal no-such-program-anywhere; echo $?");
        var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", script);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("0\n1\n127\n143\n137\n1\n", result.Stdout);
        Assert.Equal("E::fim_portal::Could not start PID, program not found?\n", Errors(result));
        Assert.Equal(5, Launcher.Run(who, image, env, "fim-exec", "fim_portal", "sh", "-c", "exit 5").ExitCode);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Signals_to_fim_portal_reach_the_host_process(Identity who)
    {
        var (image, dir, env) = NewImage(who);
        string ready = Path.Combine(dir, "ready");
        string host = $"trap 'echo got-usr1' USR1; trap 'echo got-term; exit 4' TERM; echo > {ready}; while :; do sleep 0.05; done";
        string guest = $"fim_portal sh -c \"{host}\" & p=$!; while [ ! -e /outside/ready ]; do sleep 0.05; done; kill -USR1 $p; sleep 0.5; kill -TERM $p; wait $p; echo rc=$?";
        var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", guest);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("got-usr1\ngot-term\nrc=4\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_terminal_passes_through_the_portal(Identity who)
    {
        var (image, _, env) = NewImage(who);
        var result = OnATerminal(who, image, env, "fim-exec fim_portal sh -c 'test -t 0 && test -t 1 && test -t 2 && echo host-on-a-tty'");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("host-on-a-tty", result.Stdout);
    }

    /// <summary>script(1) gives the launcher a pseudo-terminal as stdin, stdout and stderr.</summary>
    private static RunResult OnATerminal(Identity who, string image, Dictionary<string, string?> env, string arguments)
    {
        string prefix = who == Identity.Root ? "" : $"setpriv --reuid={Launcher.TestUserIds.Uid} --regid={Launcher.TestUserIds.Gid} --clear-groups -- ";
        string command = $"env -u XDG_RUNTIME_DIR XDG_RUNTIME_DIR={env["XDG_RUNTIME_DIR"]} {prefix}{image} {arguments}";
        return Launcher.RunProcess("script", ["-qec", command, "/dev/null"], null, Path.GetDirectoryName(image));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_thousand_concurrent_calls_lose_no_byte_and_no_status(Identity who)
    {
        var (image, _, env) = NewImage(who);
        const string script = """
            mkdir /tmp/r; i=0
            while [ $i -lt 1000 ]; do
              (fim_portal sh -c "echo out$i; echo err$i >&2; exit $((i % 5))" > /tmp/r/$i.out 2> /tmp/r/$i.err; echo $? > /tmp/r/$i.rc) &
              i=$((i+1))
            done
            wait; i=0; bad=0
            while [ $i -lt 1000 ]; do
              if [ "$(cat /tmp/r/$i.out)" != "out$i" ] || [ "$(cat /tmp/r/$i.err)" != "err$i" ] || [ "$(cat /tmp/r/$i.rc)" != "$((i % 5))" ]; then
                bad=$((bad+1)); echo "call $i: $(cat /tmp/r/$i.out /tmp/r/$i.err /tmp/r/$i.rc | tr '\n' ' ')"
              fi
              i=$((i+1))
            done
            echo bad=$bad
            """;
        var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", script);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("bad=0\n", result.Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_killed_caller_takes_its_host_process_with_it(Identity who)
    {
        var (image, dir, env) = NewImage(who);
        string pidFile = Path.Combine(dir, "host-pid");
        string guest = $"fim_portal sh -c 'echo $$ > {pidFile}.tmp; mv {pidFile}.tmp {pidFile}; exec sleep 60' & p=$!; while [ ! -e /outside/host-pid ]; do sleep 0.05; done; kill -KILL $p; wait $p; echo rc=$?";
        var clock = Stopwatch.StartNew();
        var result = Launcher.Run(who, image, env, "fim-exec", "sh", "-c", guest);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("rc=137\n", result.Stdout);
        int hostPid = int.Parse(File.ReadAllText(pidFile).Trim());
        while (Directory.Exists($"/proc/{hostPid}") && File.ReadAllText($"/proc/{hostPid}/comm").Trim() == "sleep" && clock.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(20);
        Assert.False(Directory.Exists($"/proc/{hostPid}") && File.ReadAllText($"/proc/{hostPid}/comm").Trim() == "sleep", "the host process outlived its caller");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData(Identity.Root, "fim-exec")]
    [InlineData(Identity.Root, "fim-root")]
    [InlineData(Identity.User, "fim-exec")]
    [InlineData(Identity.User, "fim-root")]
    public void Instance_exec_runs_inside_the_instance(Identity who, string runCommand)
    {
        var (image, dir, env) = NewImage(who, portal: false);
        using var run = Launcher.Start(who, image, env, runCommand, "sh", "-c", "echo private > /tmp/only-here; echo > /outside/started; sleep 60");
        try
        {
            Launcher.WaitForFile(Path.Combine(dir, "started"), run, "the instance never started");
            var list = Launcher.Run(who, image, env, "fim-instance", "list");
            Assert.Equal($"0:{run.Id}\n", list.Stdout);

            int uid = runCommand == "fim-root" ? 0 : who == Identity.Root ? 0 : Launcher.TestUserIds.Uid;
            // The instance's uid, its private /tmp, its PID namespace (the daemon's children, not the host's processes).
            var inside = Launcher.Run(who, image, env, "fim-instance", "exec", "0", "sh", "-c", "id -u; cat /tmp/only-here; ls /proc | grep -c '^[0-9]'; echo oops >&2; exit 6");
            Assert.Equal(6, inside.ExitCode);
            var lines = inside.Stdout.Split('\n');
            Assert.Equal($"{uid}", lines[0]);
            Assert.Equal("private", lines[1]);
            Assert.True(int.Parse(lines[2]) <= 10, inside.ToString());
            Assert.Equal("oops\n", Errors(inside));

            // stdin from the host caller, binary-safe.
            using (var cat = Launcher.Start(who, image, env, "fim-instance", "exec", "0", "tr", "a-z", "A-Z"))
            {
                cat.StandardInput.Write("through the daemon\n");
                cat.StandardInput.Close();
                var upper = Launcher.Finish(cat);
                Assert.Equal("THROUGH THE DAEMON\n", upper.Stdout);
            }

            // Ctrl-C: SIGINT to the caller is forwarded to the command inside.
            string ready = Path.Combine(dir, "exec-ready");
            using var looping = Launcher.Start(who, image, env, "fim-instance", "exec", "0", "sh", "-c", "trap 'echo got-int; exit 3' INT; echo > /outside/exec-ready; while :; do sleep 0.05; done");
            Launcher.WaitForFile(ready, looping, "the exec'd command never started");
            Assert.Equal(0, Launcher.RunProcess("kill", ["-INT", looping.Id.ToString()], null, null).ExitCode);
            var interrupted = Launcher.Finish(looping);
            Assert.Equal(3, interrupted.ExitCode);
            Assert.Equal("got-int\n", interrupted.Stdout);

            var terminal = OnATerminal(who, image, env, "fim-instance exec 0 sh -c 'test -t 0 && test -t 1 && test -t 2 && echo inside-on-a-tty'");
            Assert.True(terminal.ExitCode == 0, terminal.ToString());
            Assert.Contains("inside-on-a-tty", terminal.Stdout);

            var missing = Launcher.Run(who, image, env, "fim-instance", "exec", "0", "no-such-program");
            Assert.Equal(1, missing.ExitCode);
            Assert.Equal("E::fim-instance::Could not start PID, program not found?\n", Errors(missing));
        }
        finally
        {
            Launcher.RunProcess("kill", ["-TERM", run.Id.ToString()], null, null);
            Launcher.Finish(run);
        }
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_killed_daemon_gives_the_caller_a_clear_error(Identity who)
    {
        var (image, dir, env) = NewImage(who, portal: false);
        using var run = Launcher.Start(who, image, env, "fim-exec", "sh", "-c", "echo > /outside/started; sleep 60");
        Launcher.WaitForFile(Path.Combine(dir, "started"), run, "the instance never started");
        using var exec = Launcher.Start(who, image, env, "fim-instance", "exec", "0", "sh", "-c", "echo > /outside/exec-ready; sleep 60");
        Launcher.WaitForFile(Path.Combine(dir, "exec-ready"), exec, "the exec'd command never started");
        // The guest's fim_portal daemon: the bundled copy below this test's runtime directory.
        // (argv[0] itself: the bundled bwrap, also below it, names fim_portal among its arguments;
        // and the run's janitor is the same program in janitor mode, on the host.)
        var daemon = Process.GetProcesses().Select(p => (Process: p, Program: Cmdline(p.Id).Split(' ')[0]))
            .Where(p => p.Program.StartsWith(env["XDG_RUNTIME_DIR"]!, StringComparison.Ordinal) && p.Program.EndsWith("/bin/fim_portal", StringComparison.Ordinal))
            .Where(p => !IsJanitor(p.Process.Id))
            .Select(p => p.Process).ToList();
        Assert.Single(daemon);
        daemon[0].Kill();
        var clock = Stopwatch.StartNew();
        var result = Launcher.Finish(exec);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the caller hung");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("E::fim-instance::The portal went away", result.Stderr);
        Launcher.Finish(run);
    }

    [Fact]
    public void Another_uid_is_refused_by_both_sockets()
    {
        var (image, dir, env) = NewImage(Identity.User);
        using var run = Launcher.Start(Identity.User, image, env, "fim-exec", "sh", "-c", "echo > /outside/started; sleep 60");
        try
        {
            Launcher.WaitForFile(Path.Combine(dir, "started"), run, "the instance never started");
            string instance = Directory.GetDirectories(Path.Combine(Directory.GetDirectories(Path.Combine(env["XDG_RUNTIME_DIR"]!, "fim", "app")).Single(), "instance")).Single();
            // Root (another uid than the owner) uses the real client against each socket: refused, nothing run.
            foreach (string socket in new[] { "daemon", "dispatcher" }.Select(s => Path.Combine(instance, "portal", s, "socket")))
            {
                string marker = Path.Combine(dir, "ran-" + Path.GetFileName(Path.GetDirectoryName(socket)));
                var info = new ProcessStartInfo(Launcher.PortalPath, ["touch", marker]) { RedirectStandardError = true, RedirectStandardOutput = true };
                info.Environment["FIM_DISPATCHER_CFG"] = socket;
                using var client = Process.Start(info)!;
                string stderr = client.StandardError.ReadToEnd();
                client.WaitForExit();
                Assert.Equal(1, client.ExitCode);
                // The client itself now refuses a socket (or directory) of another uid before connecting;
                // the server's peer check (PortalSessionTests) is the second line of defence.
                Assert.Matches(@"^E::fim_portal::Refusing portal (directory|socket) '[^']+': it is owned by uid \d+\n$", stderr);
                Assert.False(File.Exists(marker));
            }
            // The owner still gets through.
            Assert.Equal("still-served\n", Launcher.Run(Identity.User, image, env, "fim-instance", "exec", "0", "echo", "still-served").Stdout);
        }
        finally
        {
            Launcher.RunProcess("kill", ["-TERM", run.Id.ToString()], null, null);
            Launcher.Finish(run);
        }
    }

    [Fact]
    public void Instance_command_errors_are_one_line()
    {
        var (image, _, env) = NewImage(Identity.Root, portal: false);
        void Fails(string line, int status, params string[] args)
        {
            var result = Launcher.Run(Identity.Root, image, env, args);
            Assert.True(result.ExitCode == status, result.ToString());
            Assert.Equal(line + "\n", Errors(result));
        }
        Fails("C::fim-instance::Missing op for 'fim-instance' (<exec|list>)", 125, "fim-instance");
        Fails("C::fim-instance::Invalid instance operation", 125, "fim-instance", "none");
        Fails("C::fim-instance::Missing 'id' argument for 'fim-instance'", 125, "fim-instance", "exec");
        Fails("C::fim-instance::Id argument must be a digit", 125, "fim-instance", "exec", "-1", "true");
        Fails("C::fim-instance::Missing 'cmd' argument for 'fim-instance'", 125, "fim-instance", "exec", "0");
        Fails("C::fim-instance::Invalid instance ID", 125, "fim-instance", "exec", "99999999999999", "true");
        Fails("C::fim-instance::No instances are running", 125, "fim-instance", "exec", "0", "true");
        Fails("C::fim-instance::Trailing arguments for fim-instance: ['x',]", 125, "fim-instance", "list", "x");
        Assert.Equal("", Launcher.Run(Identity.Root, image, env, "fim-instance", "list").Stdout);
    }

    /// <summary>stderr without the warning lines a first run in a fresh runtime directory says once (no bwrap overlay support).</summary>
    private static string Errors(RunResult result) =>
        string.Concat(result.Stderr.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("W::")).Select(l => l + "\n"));

    /// <summary>Whether process <paramref name="pid"/> runs in janitor mode (JanitorProcess sets the variable).</summary>
    private static bool IsJanitor(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains($"{FlatImage.Runtime.Instances.JanitorProcess.ModeVariable}=1");
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Cmdline(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }
}
