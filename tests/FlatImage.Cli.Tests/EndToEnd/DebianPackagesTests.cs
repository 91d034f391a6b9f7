using System.Diagnostics;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// Real packages through the README's packaging flow, as a person packaging an app would:
/// installs that take longer than the launcher's idle threads live, packages that use the
/// image's system users and groups (the guest's /etc/passwd and /etc/group are the image's own),
/// a commit, and a GUI program that keeps its window under a real X server.
/// </summary>
[Collection("run")]
public sealed class DebianPackagesTests
{
    [Fact]
    public void X11_apps_and_man_db_install_commit_and_a_window_stays_open()
    {
        DebianImageTests.RequireMirror();
        // Root installs x11-apps, which depends on man-db, whose files belong to the image's 'man'
        // user; a user's fim-root is a single-uid namespace, so it installs a package that needs no
        // other uid (xauth) and runs it from the committed image.
        var root = Task.Run(() => InstallCommitAndShowAWindow(Identity.Root, "x11-apps man-db", ["xeyes", "xclock"], display: 97));
        var user = Task.Run(() => InstallCommitAndShowAWindow(Identity.User, "xauth", [], display: null));
        Task.WaitAll(root, user);
    }

    private static void InstallCommitAndShowAWindow(Identity who, string packages, string[] xPrograms, int? display)
    {
        string image = DebianImage.New(who);
        string dir = Path.GetDirectoryName(image)!;
        Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "add", "network").ExitCode);
        var install = Launcher.Finish(Launcher.Start(who, image, null, "fim-root", "sh", "-c",
            $"apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends {packages} >/dev/null && dpkg --audit && echo installed"),
            TimeSpan.FromMinutes(10));
        Assert.True(install.ExitCode == 0 && install.Stdout == "installed\n", install.ToString());

        // The image's accounts are there inside, next to the caller's own entry.
        var accounts = Launcher.Run(who, image, "fim-exec", "sh", "-c", "id -un man; getent passwd _apt | cut -d: -f1; getent group man | cut -d: -f1; id -un");
        string caller = who == Identity.Root ? "root" : Launcher.TestUser;
        Assert.True(accounts.ExitCode == 0, accounts.ToString());
        Assert.Equal($"man\n_apt\nman\n{caller}\n", accounts.Stdout);
        if (who == Identity.Root)
        {
            var man = Launcher.Run(who, image, "fim-root", "sh", "-c", "stat -c %U /var/cache/man; man -w ls >/dev/null 2>&1; echo ok");
            Assert.Equal("man\nok\n", man.Stdout);
        }

        var commit = Launcher.Run(who, image, "fim-layer", "commit", "binary");
        Assert.True(commit.ExitCode == 0, commit.ToString());
        // A renamed image has a fresh data directory: the programs come from the committed layer.
        string renamed = Path.Combine(dir, "x11.flatimage");
        File.Move(image, renamed);
        if (who == Identity.User)
        {
            // xauth locks ~/.Xauthority: the caller's home exists inside (made in the writable layer).
            var xauth = Launcher.Run(who, renamed, "fim-exec", "xauth", "version");
            Assert.True(xauth.ExitCode == 0 && System.Text.RegularExpressions.Regex.IsMatch(xauth.Stdout, @"^\d+\.\d+(\.\d+)?\n$"), xauth.ToString());
        }
        foreach (string program in xPrograms)
        {
            // Without a display they stop at X's own check: proof enough that they load and start
            // (the window below is the real run).
            var help = Launcher.Run(who, renamed, "fim-exec", "sh", "-c", $"{program} -help 2>&1; echo status $?");
            Assert.Matches(@"(?i)(usage|can't open display)[\s\S]*status (?!12[67]\n)\d+\n$", help.Stdout);
        }
        // The committed layer holds the image's accounts once each; the caller's line is the run's.
        Assert.Equal("1\n", Launcher.Run(who, renamed, "fim-exec", "grep", "-c", "^man:", "/etc/passwd").Stdout);

        if (display is { } number)
            ShowAWindowForAMinute(who, renamed, number);
    }

    /// <summary>Xvfb on :<paramref name="display"/> with a cookie; xeyes through the xorg permission must still have its window 60 s later.</summary>
    private static void ShowAWindowForAMinute(Identity who, string image, int display)
    {
        string dir = Path.GetDirectoryName(image)!;
        string xauthority = Path.Combine(dir, "Xauthority");
        string cookie = Convert.ToHexString(Guid.NewGuid().ToByteArray()).ToLowerInvariant();
        Assert.Equal(0, Launcher.RunProcess("xauth", ["-f", xauthority, "add", $":{display}", ".", cookie], null, null).ExitCode);
        if (who == Identity.User)
            Launcher.Chown(xauthority);
        using var xvfb = Process.Start(new ProcessStartInfo("Xvfb", [$":{display}", "-auth", xauthority, "-nolisten", "tcp", "-screen", "0", "640x480x24"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            var env = new Dictionary<string, string?> { ["DISPLAY"] = $":{display}", ["XAUTHORITY"] = xauthority };
            WaitFor(() => File.Exists($"/tmp/.X11-unix/X{display}"), "Xvfb's socket");
            Assert.Equal(0, Launcher.Run(who, image, "fim-perms", "add", "xorg").ExitCode);
            using var eyes = Launcher.Start(who, image, env, "fim-exec", "xeyes");
            Thread.Sleep(TimeSpan.FromSeconds(60));
            Assert.False(eyes.HasExited, eyes.HasExited ? Launcher.Finish(eyes).ToString() : "");
            // The server checks cookies (-auth): xwininfo shows the same one.
            var tree = Launcher.RunProcess("env", [$"XAUTHORITY={xauthority}", "xwininfo", "-root", "-tree", "-display", $":{display}"], null, null);
            Assert.True(tree.Stdout.Contains("xeyes"), tree.ToString());
            Launcher.RunProcess("kill", ["-TERM", eyes.Id.ToString()], null, null);
            Launcher.Finish(eyes);
        }
        finally
        {
            xvfb.Kill();
            xvfb.WaitForExit();
        }
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"{what}: not within 30 s");
            Thread.Sleep(50);
        }
    }
}
