using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Tmds.DBus.Protocol;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>
/// fim-desktop, fim-notify and the guest's xdg-open, end to end with the published launcher, as
/// root and as the test user, against a private XDG_DATA_HOME: the host's own tools judge the
/// result (desktop-file-validate, xdg-mime through gio and update-mime-database, a real session
/// bus started here with a listener that owns org.freedesktop.Notifications, the host's xdg-open).
/// </summary>
public sealed class DesktopTests : IDisposable
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    private readonly List<Process> _daemons = [];
    private readonly List<DBusConnection> _connections = [];

    public void Dispose()
    {
        _connections.ForEach(c => c.Dispose());
        foreach (var daemon in _daemons)
        {
            daemon.Kill();
            daemon.WaitForExit(5_000);
            daemon.Dispose();
        }
    }

    private sealed record Setup(string Image, string Dir, string DataHome, Dictionary<string, string?> Env);

    /// <summary>A blueprint image in its own directory, a 300x200 PNG icon and a setup file next to it, all the caller's.</summary>
    private static Setup NewSetup(Identity who, string name = "Hello App", string integrations = "[]", string icon = "icon.png")
    {
        string image = Launcher.NewImage(who);
        string dir = Path.GetDirectoryName(image)!;
        using (var png = new Image<Rgba32>(300, 200, new Rgba32(200, 30, 30, 255)))
            png.SaveAsPng(Path.Combine(dir, "icon.png"));
        File.WriteAllText(Path.Combine(dir, "setup.json"),
            $$"""{"name": "{{name}}", "icon": "{{icon}}", "categories": ["Utility", "TextEditor", "Utility"], "integrations": {{integrations}}}""");
        if (who == Identity.User)
            Launcher.Chown(dir, recursive: true);
        string dataHome = Path.Combine(dir, "share");
        var env = new Dictionary<string, string?>
        {
            ["XDG_DATA_HOME"] = dataHome,
            ["XDG_CONFIG_HOME"] = Path.Combine(dir, "config"),
            ["DBUS_SESSION_BUS_ADDRESS"] = null,
        };
        return new Setup(image, dir, dataHome, env);
    }

    private static string[] FilesUnder(string dir) =>
        Directory.Exists(dir) ? Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray() : [];

    [Theory]
    [MemberData(nameof(Identities))]
    public void Setup_enable_dump_and_clean_install_exactly_the_integration(Identity who)
    {
        var s = NewSetup(who);
        var setup = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "setup", "setup.json");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        Assert.Equal("{\n  \"categories\": [\n    \"TextEditor\",\n    \"Utility\"\n  ],\n  \"integrations\": [],\n  \"name\": \"Hello App\"\n}\n", setup.Stdout);
        Assert.Empty(FilesUnder(s.DataHome));

        var enable = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "enable", "Icon,ENTRY,mimetype");
        Assert.True(enable.ExitCode == 0, enable.ToString());
        Assert.Equal("ENTRY\nMIMETYPE\nICON\nIntegrating desktop entry\nIntegrating mime database\nIntegrating desktop icons\n", enable.Stdout);

        string entry = Path.Combine(s.DataHome, "applications", "flatimage-Hello App.desktop");
        string expectedEntry = $"[Desktop Entry]\nName=Hello App\nType=Application\nComment=FlatImage distribution of \"Hello App\"\nExec=\"{s.Image}\" %F\nTryExec={s.Image}\nIcon=flatimage_Hello App\nMimeType=application/flatimage_Hello_App;\nCategories=TextEditor;Utility;";
        Assert.Equal(expectedEntry, File.ReadAllText(entry));
        Assert.Equal(expectedEntry + "\n", Launcher.Run(who, s.Image, s.Env, "fim-desktop", "dump", "entry").Stdout);
        var validate = Launcher.RunProcess("desktop-file-validate", [entry], null, null);
        Assert.True(validate.ExitCode == 0 && validate.Stdout == "" , validate.ToString());
        string mime = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "dump", "mimetype").Stdout;
        Assert.Contains("<mime-type type=\"application/flatimage_Hello_App\">", mime);
        Assert.Contains("<glob weight=\"100\" pattern=\"app.flatimage\"/>", mime);
        Assert.Equal(File.ReadAllText(Path.Combine(s.DataHome, "mime", "packages", "flatimage-Hello App.xml")) + "\n", mime);

        // The icons decode at their sizes; the 300x200 source is centred on a transparent square.
        foreach (int size in new[] { 16, 22, 24, 32, 48, 64, 96, 128, 256 })
        {
            foreach (string kind in new[] { $"apps/flatimage_Hello App.png", $"mimetypes/application-flatimage_Hello App.png" })
            {
                using var icon = SixLabors.ImageSharp.Image.Load<Rgba32>(Path.Combine(s.DataHome, "icons", "hicolor", $"{size}x{size}", kind));
                Assert.Equal((size, size), (icon.Width, icon.Height));
                Assert.Equal(0, icon[0, 0].A);
                Assert.Equal(new Rgba32(200, 30, 30, 255), icon[size / 2, size / 2]);
            }
        }

        // The host's MIME database, as a desktop asks it: the image's own type by name, the
        // generic FlatImage type by content for a copy with any other name, and the default
        // application for the image's type.
        var gnome = new Dictionary<string, string?>(s.Env) { ["XDG_CURRENT_DESKTOP"] = "GNOME", ["XDG_DATA_DIRS"] = "/usr/share" };
        Assert.Equal("application/flatimage_Hello_App\n", XdgMime(gnome, "query", "filetype", s.Image));
        string renamed = Path.Combine(s.Dir, "renamed-copy");
        File.Copy(s.Image, renamed);
        Assert.Equal("application/flatimage\n", XdgMime(gnome, "query", "filetype", renamed));
        File.Delete(renamed);
        Assert.Equal("flatimage-Hello App.desktop\n", XdgMime(s.Env, "query", "default", "application/flatimage_Hello_App"));

        string dumped = Path.Combine(s.Dir, "dumped");
        Assert.Equal(0, Launcher.Run(who, s.Image, s.Env, "fim-desktop", "dump", "icon", dumped).ExitCode);
        Assert.Equal(File.ReadAllBytes(Path.Combine(s.Dir, "icon.png")), File.ReadAllBytes(dumped + ".png"));

        // clean: every file of this application goes, one line each; the shared generic files stay.
        string[] before = FilesUnder(s.DataHome);
        var clean = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "clean");
        Assert.True(clean.ExitCode == 0, clean.ToString());
        string[] removed = clean.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2 + 2 * 9, removed.Length);
        Assert.All(removed, line => Assert.Matches("^Removed file '.*Hello App.*'$", line));
        string[] after = FilesUnder(s.DataHome);
        Assert.DoesNotContain(after, f => f.Contains("Hello App") || f.Contains("Hello_App"));
        Assert.Equal(before.Where(f => !f.Contains("Hello App") && !f.Contains("Hello_App") && !f.Contains("/mime/") && !f.EndsWith("mimeinfo.cache")),
            after.Where(f => !f.Contains("/mime/") && !f.EndsWith("mimeinfo.cache")));
        Assert.Equal("", XdgMime(s.Env, "query", "default", "application/flatimage_Hello_App"));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void A_run_refreshes_the_paths_of_a_moved_image_and_notifies_the_session_bus(Identity who)
    {
        var s = NewSetup(who, name: "Mover", integrations: "[\"entry\", \"mimetype\", \"icon\"]");
        Assert.Equal(0, Launcher.Run(who, s.Image, s.Env, "fim-desktop", "setup", "setup.json").ExitCode);
        Assert.Equal(0, Launcher.Run(who, s.Image, s.Env, "fim-notify", "on").ExitCode);
        var (address, notifications) = StartNotificationServer(who, s.Dir);
        var env = new Dictionary<string, string?>(s.Env) { ["DBUS_SESSION_BUS_ADDRESS"] = address };

        // The first run installs everything (setup itself writes nothing) and says it started.
        var first = Launcher.Run(who, s.Image, env, "fim-exec", "true");
        Assert.True(first.ExitCode == 0 && Errors(first) == "", first.ToString());
        string entry = Path.Combine(s.DataHome, "applications", "flatimage-Mover.desktop");
        Assert.Contains($"Exec=\"{s.Image}\" %F\nTryExec={s.Image}\n", File.ReadAllText(entry));
        string icon64 = Path.Combine(s.DataHome, "icons", "hicolor", "64x64", "apps", "flatimage_Mover.png");
        Assert.True(File.Exists(icon64));
        var call = notifications.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        Assert.Equal(("Mover", icon64, "Started 'Mover' FlatImage"), call);

        // Moved and renamed: the next run points the entry and the MIME glob at the new file.
        string moved = Path.Combine(s.Dir, "elsewhere", "renamed app.flatimage");
        Directory.CreateDirectory(Path.GetDirectoryName(moved)!);
        if (who == Identity.User)
            Launcher.Chown(Path.GetDirectoryName(moved)!);
        File.Move(s.Image, moved);
        var second = Launcher.Run(who, moved, env, "fim-exec", "true");
        Assert.True(second.ExitCode == 0 && Errors(second) == "", second.ToString());
        Assert.Contains($"Exec=\"{moved}\" %F\nTryExec={moved}\n", File.ReadAllText(entry));
        Assert.Equal(0, Launcher.RunProcess("desktop-file-validate", [entry], null, null).ExitCode);
        var gnome = new Dictionary<string, string?>(env) { ["XDG_CURRENT_DESKTOP"] = "GNOME", ["XDG_DATA_DIRS"] = "/usr/share" };
        Assert.Equal("application/flatimage_Mover\n", XdgMime(gnome, "query", "filetype", moved));
        notifications.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

        // Without a notification server (no bus at all) the run neither fails nor waits.
        var noBus = new Dictionary<string, string?>(env) { ["DBUS_SESSION_BUS_ADDRESS"] = $"unix:path={s.Dir}/no-such-bus" };
        var clock = Stopwatch.StartNew();
        var third = Launcher.Run(who, moved, noBus, "fim-exec", "sh", "-c", "echo ran");
        Assert.True(third.ExitCode == 0 && third.Stdout == "ran\n" && Errors(third) == "", third.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), clock.Elapsed.ToString());
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Xdg_open_in_the_guest_reaches_the_host_handler_through_the_portal(Identity who)
    {
        var s = NewSetup(who);
        string opened = Path.Combine(s.Dir, "opened");
        string handler = Path.Combine(s.Dir, "handler.sh");
        File.WriteAllText(handler, $"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{opened}'\n");
        File.SetUnixFileMode(handler, (UnixFileMode)0b111_101_101);
        // The host's xdg-open without a desktop session opens URLs with $BROWSER: the handler.
        var env = new Dictionary<string, string?>(s.Env) { ["BROWSER"] = handler, ["DISPLAY"] = null, ["WAYLAND_DISPLAY"] = null, ["XDG_CURRENT_DESKTOP"] = null };

        var denied = Launcher.Run(who, s.Image, env, "fim-exec", "xdg-open", "https://example.org/");
        Assert.Equal(1, denied.ExitCode);
        Assert.Equal("E::xdg-open::Opening files and URLs on the host needs the 'portal' permission (fim-perms add portal)\n", Errors(denied));
        Assert.False(File.Exists(opened));

        Assert.Equal(0, Launcher.Run(who, s.Image, env, "fim-perms", "add", "portal").ExitCode);
        var result = Launcher.Run(who, s.Image, env, "fim-exec", "xdg-open", "https://example.org/a?b=c");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("https://example.org/a?b=c\n", File.ReadAllText(opened));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Bad_input_is_one_line_and_changes_nothing(Identity who)
    {
        var s = NewSetup(who);
        string Write(string file, string text)
        {
            string path = Path.Combine(s.Dir, file);
            File.WriteAllText(path, text);
            if (who == Identity.User)
                Launcher.Chown(path);
            return file;
        }
        void WriteBytes(string file, byte[] bytes)
        {
            File.WriteAllBytes(Path.Combine(s.Dir, file), bytes);
            if (who == Identity.User)
                Launcher.Chown(Path.Combine(s.Dir, file));
        }
        // A PNG that claims 60000x60000 pixels (a decompression bomb's header), a PNG with a broken
        // body, and an SVG declaring entities.
        using (var small = new Image<Rgba32>(8, 8))
        {
            using var buffer = new MemoryStream();
            small.SaveAsPng(buffer);
            byte[] bomb = buffer.ToArray();
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bomb.AsSpan(16), 60000);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bomb.AsSpan(20), 60000);
            var crc = System.IO.Hashing.Crc32.HashToUInt32(bomb.AsSpan(12, 17));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bomb.AsSpan(29), crc);
            WriteBytes("bomb.png", bomb);
            byte[] broken = buffer.ToArray()[..^20];
            WriteBytes("broken.png", broken);
        }
        WriteBytes("not-a-png.png", "just text"u8.ToArray());
        WriteBytes("huge.png", new byte[1024 * 1024 + 1]);
        Write("entities.svg", "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a \"aaaa\">]><svg xmlns=\"http://www.w3.org/2000/svg\">&a;</svg>");

        var cases = new (string Json, string Error)[]
        {
            ("", "Empty json data"),
            ("{\"name\": \"x\"", "Failed to deserialize json"),
            ("{\"name\": \"x\", \"icon\": \"icon.png\"}", "Failed to deserialize json"),
            ("{\"name\": 3, \"icon\": \"icon.png\", \"categories\": []}", "Failed to deserialize json"),
            ("{\"name\": \"x\", \"icon\": \"icon.png\", \"categories\": [], \"integrations\": [\"menu\"]}", "Failed to deserialize json"),
            ("{\"name\": \"a/b\", \"icon\": \"icon.png\", \"categories\": []}", "Application name cannot contain the '/' character"),
            ("{\"name\": \"a\\nb\", \"icon\": \"icon.png\", \"categories\": []}", "Application name cannot contain control characters"),
            ("{\"name\": \"x\", \"categories\": []}", "Could not retrieve icon path field from json"),
            ("{\"name\": \"x\", \"icon\": \"icon.gif\", \"categories\": []}", "Icon extension '.gif' is not supported"),
            ("{\"name\": \"x\", \"icon\": \"missing.png\", \"categories\": []}", "Could not get size of file 'missing.png': No such file or directory"),
            ("{\"name\": \"x\", \"icon\": \"huge.png\", \"categories\": []}", "File is too large, '1048577' bytes"),
            ("{\"name\": \"x\", \"icon\": \"bomb.png\", \"categories\": []}", "Icon 'bomb.png' has unusable dimensions 60000x60000 (at most 4096x4096)"),
            ("{\"name\": \"x\", \"icon\": \"not-a-png.png\", \"categories\": []}", "Icon 'not-a-png.png' is not a PNG image"),
            ("{\"name\": \"x\", \"icon\": \"entities.svg\", \"categories\": []}", "Icon 'entities.svg' declares XML entities, which icons do not need"),
        };
        string configBefore = ConfigOf(who, s);
        foreach (var (json, error) in cases)
        {
            var result = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "setup", Write("bad.json", json));
            Assert.True(result.ExitCode == 125 && result.Stdout == "" && result.Stderr == $"E::fim-desktop::{error}\n", $"{json}: {result}");
        }
        var truncated = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "setup", Write("bad.json", "{\"name\": \"x\", \"icon\": \"broken.png\", \"categories\": []}"));
        Assert.True(truncated.ExitCode == 125 && truncated.Stderr.StartsWith("E::fim-desktop::Icon 'broken.png' ") && truncated.Stderr.Count(c => c == '\n') == 1, truncated.ToString());
        var unreadable = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "setup", "no-such.json");
        Assert.Equal("E::fim-desktop::Failed to open file 'no-such.json' for desktop integration\n", unreadable.Stderr);

        // Usage errors (critical), and commands that need a setup first.
        var usage = new (string[] Args, string Line)[]
        {
            ([], "C::fim-desktop::Missing op for 'fim-desktop' (enable,setup,clean,dump)"),
            (["none"], "C::fim-desktop::Invalid desktop operation"),
            (["setup"], "C::fim-desktop::Missing argument for 'setup' (/path/to/file.json)"),
            (["enable"], "C::fim-desktop::Missing arguments for 'enable' (entry,mimetype,icon,none)"),
            (["enable", "entry,menu"], "C::fim-desktop::Invalid integration item"),
            (["enable", "entry,"], "C::fim-desktop::Invalid integration item"),
            (["enable", "none,icon"], "C::fim-desktop::'none' option should not be used with others"),
            (["dump"], "C::fim-desktop::Missing arguments for 'dump' (entry,mimetype,icon)"),
            (["dump", "menu"], "C::fim-desktop::Invalid dump operation"),
            (["dump", "none"], "C::fim-desktop::Invalid desktop dump operation"),
            (["dump", "icon"], "C::fim-desktop::Missing argument for 'icon' /path/to/dump/file"),
            (["clean", "x", "y"], "C::fim-desktop::Trailing arguments for fim-desktop: ['x','y',]"),
            (["enable", "entry"], "E::fim-desktop::No desktop integration is set up (fim-desktop setup <json-file>)"),
            (["clean"], "E::fim-desktop::No desktop integration is set up (fim-desktop setup <json-file>)"),
            (["dump", "entry"], "E::fim-desktop::No desktop integration is set up (fim-desktop setup <json-file>)"),
        };
        foreach (var (args, line) in usage)
        {
            var result = Launcher.Run(who, s.Image, s.Env, ["fim-desktop", .. args]);
            Assert.True(result.ExitCode == 125 && result.Stdout == "" && result.Stderr == line + "\n", $"{string.Join(' ', args)}: {result}");
        }
        Assert.Equal(configBefore, ConfigOf(who, s));
        Assert.Empty(FilesUnder(s.DataHome));
        Assert.Empty(Directory.GetFiles(s.Dir, ".*tmp*"));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Svg_and_downloaded_icons_are_installed_as_given(Identity who)
    {
        var s = NewSetup(who, name: "Vector", integrations: "[\"icon\"]", icon: "logo.svg");
        const string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"16\" height=\"16\"><rect width=\"16\" height=\"16\" fill=\"#123456\"/></svg>\n";
        File.WriteAllText(Path.Combine(s.Dir, "logo.svg"), svg);
        if (who == Identity.User)
            Launcher.Chown(Path.Combine(s.Dir, "logo.svg"));
        Assert.Equal(0, Launcher.Run(who, s.Image, s.Env, "fim-desktop", "setup", "setup.json").ExitCode);
        Assert.Equal(0, Launcher.Run(who, s.Image, s.Env, "fim-exec", "true").ExitCode);
        Assert.Equal(svg, File.ReadAllText(Path.Combine(s.DataHome, "icons", "hicolor", "scalable", "apps", "flatimage_Vector.svg")));
        Assert.Equal(svg, File.ReadAllText(Path.Combine(s.DataHome, "icons", "hicolor", "scalable", "mimetypes", "application-flatimage_Vector.svg")));
        Assert.True(File.Exists(Path.Combine(s.DataHome, "icons", "hicolor", "scalable", "apps", "flatimage.svg")));
        Assert.False(Directory.Exists(Path.Combine(s.DataHome, "icons", "hicolor", "64x64")));

        // An icon URL: fetched from a real HTTP server on 127.0.0.1; a failing URL is one line.
        using var server = new System.Net.HttpListener();
        int port = 20000 + Random.Shared.Next(20000);
        server.Prefixes.Add($"http://127.0.0.1:{port}/");
        server.Start();
        byte[] png = File.ReadAllBytes(Path.Combine(s.Dir, "icon.png"));
        var serving = Task.Run(async () =>
        {
            while (server.IsListening)
            {
                var context = await server.GetContextAsync();
                if (context.Request.Url!.AbsolutePath == "/icons/app.png")
                    await context.Response.OutputStream.WriteAsync(png);
                else
                    context.Response.StatusCode = 404;
                context.Response.Close();
            }
        });
        File.WriteAllText(Path.Combine(s.Dir, "url.json"), $$"""{"name": "Fetched", "icon": "http://127.0.0.1:{{port}}/icons/app.png", "categories": ["Network"]}""");
        File.WriteAllText(Path.Combine(s.Dir, "missing-url.json"), $$"""{"name": "Fetched", "icon": "http://127.0.0.1:{{port}}/nothing.png", "categories": ["Network"]}""");
        if (who == Identity.User)
            Launcher.Chown(s.Dir, recursive: true);
        var fetched = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "setup", "url.json");
        Assert.True(fetched.ExitCode == 0, fetched.ToString());
        string dumped = Path.Combine(s.Dir, "fetched.png");
        Assert.Equal(0, Launcher.Run(who, s.Image, s.Env, "fim-desktop", "dump", "icon", dumped).ExitCode);
        Assert.Equal(png, File.ReadAllBytes(dumped));
        var missing = Launcher.Run(who, s.Image, s.Env, "fim-desktop", "setup", "missing-url.json");
        Assert.Equal($"E::fim-desktop::wget failed with exit code: 8 for URL: http://127.0.0.1:{port}/nothing.png\n", missing.Stderr);
        server.Stop();
    }

    /// <summary>stderr without the launcher's one-time warnings about the host (an old bwrap, say).</summary>
    private static string Errors(RunResult result) =>
        string.Concat(result.Stderr.Split('\n').Where(l => l.Length > 0 && !l.StartsWith("W::")).Select(l => l + "\n"));

    private static string ConfigOf(Identity who, Setup s) =>
        string.Join('|', new[] { "perms", "env", "bind", "boot" }.Select(c => Launcher.Run(who, s.Image, s.Env, $"fim-{c}", c == "boot" ? "show" : "list").Stdout))
        + Launcher.Run(who, s.Image, s.Env, "fim-desktop", "dump", "entry").Stderr;

    private static string XdgMime(IDictionary<string, string?> env, params string[] args)
    {
        var info = new ProcessStartInfo("xdg-mime") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
            info.ArgumentList.Add(a);
        foreach (var (k, v) in env)
        {
            if (v is null) info.Environment.Remove(k);
            else info.Environment[k] = v;
        }
        using var p = Process.Start(info)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output;
    }

    /// <summary>
    /// A private session bus (dbus-daemon, its socket in the test's directory, open to the test user)
    /// and a notification server on it: a connection that owns org.freedesktop.Notifications and
    /// records each Notify call's app name, icon and summary.
    /// </summary>
    private (string Address, System.Threading.Channels.Channel<(string, string, string)> Calls) StartNotificationServer(Identity who, string dir)
    {
        string socket = Path.Combine(dir, "bus");
        string config = Path.Combine(dir, "bus.conf");
        // The host's own session configuration, opened to any user: the launcher runs as the test
        // user, the listener as root.
        File.WriteAllText(config, """
            <busconfig>
              <include>/usr/share/dbus-1/session.conf</include>
              <policy context="default">
                <allow user="*"/>
              </policy>
            </busconfig>
            """);
        var info = new ProcessStartInfo("dbus-daemon") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { $"--config-file={config}", $"--address=unix:path={socket}", "--nofork", "--print-address" })
            info.ArgumentList.Add(a);
        var daemon = Process.Start(info)!;
        _daemons.Add(daemon);
        string address = daemon.StandardOutput.ReadLine() ?? throw new InvalidOperationException(daemon.StandardError.ReadToEnd());

        var calls = System.Threading.Channels.Channel.CreateUnbounded<(string, string, string)>();
        var connection = new DBusConnection(address);
        _connections.Add(connection);
        // Off xunit's synchronization context: the connection's continuations must not wait for this thread.
        Task.Run(async () =>
        {
            await connection.ConnectAsync();
            connection.AddMethodHandler(new NotificationServer(calls.Writer));
            await connection.RequestNameAsync("org.freedesktop.Notifications", RequestNameOptions.Default);
        }).WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        return (address, calls);
    }

    private sealed class NotificationServer(System.Threading.Channels.ChannelWriter<(string, string, string)> calls) : IPathMethodHandler
    {
        private uint _next;

        public string Path => "/org/freedesktop/Notifications";
        public bool HandlesChildPaths => false;

        public ValueTask HandleMethodAsync(MethodContext context)
        {
            var request = context.Request;
            if (request.InterfaceAsString != "org.freedesktop.Notifications" || request.MemberAsString != "Notify")
            {
                context.ReplyUnknownMethodError();
                return ValueTask.CompletedTask;
            }
            var reader = request.GetBodyReader();
            string app = reader.ReadString();
            reader.ReadUInt32();
            string icon = reader.ReadString();
            string summary = reader.ReadString();
            calls.TryWrite((app, icon, summary));
            using var writer = context.CreateReplyWriter("u");
            writer.WriteUInt32(++_next);
            context.Reply(writer.CreateMessage());
            return ValueTask.CompletedTask;
        }
    }
}
