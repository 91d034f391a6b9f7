using System.Diagnostics;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// Runs that last longer than the launcher's idle threads. .NET retires an idle thread-pool thread
/// after about 20 s; bubblewrap's --die-with-parent follows the thread that started it, so a
/// sandbox started from a pool thread was killed 20 s into every run. Every combination that
/// starts a sandbox or a host command differently is run side by side, so the whole matrix costs
/// one program's length.
/// </summary>
public class LongRunTests
{
    private const int ProgramSeconds = 90;

    public sealed record Case(Identity Who, string Overlay, bool Portal, bool ThroughInstanceExec)
    {
        public override string ToString() => $"{Who}/{Overlay}/{(Portal ? "portal" : "no-portal")}/{(ThroughInstanceExec ? "fim-instance exec" : "foreground")}";
    }

    [Fact]
    public void Programs_run_to_their_end_on_every_backend_and_a_SIGKILLed_launcher_still_leaves_nothing()
    {
        var cases = (from who in new[] { Identity.Root, Identity.User }
                     from overlay in new[] { "bwrap", "overlayfs", "unionfs" }
                     from portal in new[] { false, true }
                     from exec in new[] { false, true }
                     select new Case(who, overlay, portal, exec)).ToList();
        var runs = cases.Select(c => Task.Run(() => RunToTheEnd(c))).ToList();
        var killed = new[] { Identity.Root, Identity.User }.Select(who => Task.Run(() => KillAfterTheIdleThreadsRetired(who))).ToList();

        Task.WaitAll([.. runs, .. killed]);
        var failures = cases.Zip(runs, (c, t) => (c, t.Result)).Where(r => r.Result is not null).Select(r => $"{r.c}: {r.Result}").ToList();
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>Null when the program's line arrived with status 0, else what went wrong.</summary>
    private static string? RunToTheEnd(Case c)
    {
        string image = BusyboxImage.New(c.Who);
        if (c.Portal)
            Assert.Equal(0, Launcher.Run(c.Who, image, "fim-perms", "add", "portal").ExitCode);
        // A runtime directory of its own: fim-instance numbers the instances of one user's runtime directory.
        var env = new Dictionary<string, string?> { ["FIM_OVERLAY"] = c.Overlay, ["XDG_RUNTIME_DIR"] = PrivateRuntimeDirectory(c.Who, image) };
        string program = $"sleep {ProgramSeconds}; echo survived";
        if (!c.ThroughInstanceExec)
            return Check(Launcher.Finish(Launcher.Start(c.Who, image, env, "fim-exec", "sh", "-c", program), TimeSpan.FromSeconds(ProgramSeconds + 60)));

        using var holder = Launcher.Start(c.Who, image, env, "fim-exec", "sleep", $"{ProgramSeconds + 60}");
        var clock = Stopwatch.StartNew();
        while (Launcher.Run(c.Who, image, env, "fim-instance", "list").Stdout.Length == 0)
        {
            if (holder.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
                return $"the instance never appeared: {Launcher.Finish(holder)}";
            Thread.Sleep(100);
        }
        string? failure = Check(Launcher.Finish(Launcher.Start(c.Who, image, env, "fim-instance", "exec", "0", "sh", "-c", program), TimeSpan.FromSeconds(ProgramSeconds + 60)));
        if (holder.HasExited)
            failure ??= $"the instance's own program died first: {Launcher.Finish(holder)}";
        Launcher.RunProcess("kill", ["-TERM", holder.Id.ToString()], null, null);
        Launcher.Finish(holder);
        return failure;
    }

    private static string? Check(RunResult result) =>
        result.ExitCode == 0 && result.Stdout == "survived\n" ? null : result.ToString();

    /// <summary>SIGKILL of the launcher 25 s into a run (after the idle pool threads are gone): no program and no mount survive it.</summary>
    private static void KillAfterTheIdleThreadsRetired(Identity who)
    {
        string image = BusyboxImage.New(who);
        string runtime = PrivateRuntimeDirectory(who, image);
        // A unique argument marks the program, so the check below finds it among every test's processes.
        string tag = $"fim-longrun-{Guid.NewGuid():N}";
        var env = new Dictionary<string, string?> { ["XDG_RUNTIME_DIR"] = runtime };
        using var run = Launcher.Start(who, image, env, "fim-exec", "sh", "-c", $"sleep 300; : {tag}");
        Thread.Sleep(TimeSpan.FromSeconds(25));
        Assert.False(run.HasExited, $"the run ended before the launcher was killed: {(run.HasExited ? Launcher.Finish(run).ToString() : "")}");
        Assert.True(ProcessesWith(tag) > 0, "the program is not running");
        // setpriv exec'd the launcher, so this pid is the launcher itself.
        Process.GetProcessById(run.Id).Kill();
        run.WaitForExit();
        var clock = Stopwatch.StartNew();
        while ((ProcessesWith(tag) > 0 || RunTests.Mounts(runtime).Count > 0) && clock.Elapsed < TimeSpan.FromSeconds(5))
            Thread.Sleep(20);
        Assert.Equal(0, ProcessesWith(tag));
        Assert.Empty(RunTests.Mounts(runtime));
    }

    private static string PrivateRuntimeDirectory(Identity who, string image)
    {
        string runtime = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(image)!, "xdg-runtime")).FullName;
        File.SetUnixFileMode(runtime, (UnixFileMode)0b111_000_000);
        if (who == Identity.User)
            Launcher.Chown(runtime);
        return runtime;
    }

    private static int ProcessesWith(string tag)
    {
        int count = 0;
        foreach (string proc in Directory.GetDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(proc), out _) && File.ReadAllText(Path.Combine(proc, "cmdline")).Contains(tag, StringComparison.Ordinal))
                    count++;
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }
        // This test process's own argv never holds the tag; the reader above may see itself only through a shell, which we do not start.
        return count;
    }
}

/// <summary>
/// A soak of one image: 4 instances for 2 minutes each, at once, each calling a host command
/// through the portal every second. Every call and every instance must end with status 0.
/// </summary>
public class SoakTests
{
    [Fact]
    public void Four_instances_of_one_image_with_portal_calls_run_for_two_minutes()
    {
        string image = BusyboxImage.New(Identity.User);
        Assert.Equal(0, Launcher.Run(Identity.User, image, "fim-perms", "add", "portal").ExitCode);
        const string program = """
            end=$(( $(date +%s) + 120 )); calls=0
            while [ "$(date +%s)" -lt "$end" ]; do
              [ "$(fim_portal echo host)" = host ] || exit 9
              calls=$((calls + 1)); sleep 1
            done
            echo "calls: $calls"
            """;
        var runs = Enumerable.Range(0, 4).Select(_ => Launcher.Start(Identity.User, image, null, "fim-exec", "sh", "-c", program)).ToList();
        var results = runs.Select(r => Launcher.Finish(r, TimeSpan.FromSeconds(200))).ToList();
        foreach (var result in results)
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Matches(@"^calls: \d{2,}\n$", result.Stdout);
        }
    }
}
