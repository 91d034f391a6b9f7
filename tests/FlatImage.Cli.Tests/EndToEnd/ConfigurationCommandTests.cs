using System.Security.Cryptography;
using System.Text.Json;

namespace FlatImage.Cli.Tests.EndToEnd;

/// <summary>Every configuration command through the published binary, as root and as an unprivileged user.</summary>
public sealed class ConfigurationCommandTests
{
    public static TheoryData<Identity> Identities => new() { Identity.Root, Identity.User };

    [Theory]
    [MemberData(nameof(Identities))]
    public void Permissions_are_added_listed_sorted_deleted_set_and_cleared(Identity who)
    {
        string image = Launcher.NewImage(who);
        Assert.Equal("", Ok(who, image, "fim-perms", "list"));
        Ok(who, image, "fim-perms", "add", "network,HOME,wayland");
        Ok(who, image, "fim-perms", "add", "audio,portal");
        Assert.Equal("audio\nhome\nnetwork\nportal\nwayland\n", Ok(who, image, "fim-perms", "list"));
        Ok(who, image, "fim-perms", "del", "home,portal");
        Assert.Equal("audio\nnetwork\nwayland\n", Ok(who, image, "fim-perms", "list"));
        Ok(who, image, "fim-perms", "set", "gpu");
        Assert.Equal("gpu\n", Ok(who, image, "fim-perms", "list"));
        Ok(who, image, "fim-perms", "add", "all");
        Assert.Equal(16, Ok(who, image, "fim-perms", "list").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Ok(who, image, "fim-perms", "del", "all");
        Assert.Equal("", Ok(who, image, "fim-perms", "list"));
        Ok(who, image, "fim-perms", "add", "usb");
        Ok(who, image, "fim-perms", "clear");
        Assert.Equal("", Ok(who, image, "fim-perms", "list"));
    }

    [Theory]
    [InlineData("C::fim-perms::Missing op for fim-perms (add,del,list,set,clear)")]
    [InlineData("C::fim-perms::Invalid perms operation", "frob")]
    [InlineData("C::fim-perms::Invalid operation for permissions", "none")]
    [InlineData("C::fim-perms::No arguments for 'ADD' command", "add")]
    [InlineData("C::fim-perms::No arguments for 'DEL' command", "Del")]
    [InlineData("C::fim-perms::Invalid permission", "add", "home,foo")]
    [InlineData("C::fim-perms::Invalid permission", "add", "home,")]
    [InlineData("C::fim-perms::Invalid permission 'NONE'", "set", "none")]
    [InlineData("C::fim-perms::Permission 'all' should not be used with others", "add", "all,home")]
    [InlineData("C::fim-perms::Trailing arguments for fim-perms: ['x','y',]", "add", "home", "x", "y")]
    [InlineData("C::fim-perms::Trailing arguments for fim-perms: ['x',]", "list", "x")]
    [InlineData("C::fim-unshare::Missing op for fim-unshare (add,clear,del,list,set)")]
    [InlineData("C::fim-unshare::Invalid unshare option", "add", "ipc,time")]
    [InlineData("C::fim-unshare::Invalid unshare option 'NONE'", "add", "none")]
    [InlineData("C::fim-unshare::Unshare option 'all' should not be used with others", "set", "pid,all")]
    [InlineData("C::fim-unshare::Invalid operation for unshare", "none")]
    [InlineData("C::fim-env::Missing op for 'fim-env' (add,del,list,set,clear)")]
    [InlineData("C::fim-env::Invalid env operation", "put")]
    [InlineData("C::fim-env::Invalid operation for environment", "NONE")]
    [InlineData("C::fim-env::Missing arguments for 'ADD'", "add")]
    [InlineData("C::fim-env::Missing arguments for 'DEL'", "del")]
    [InlineData("C::fim-env::Variable assignment 'B' is invalid", "add", "A=1", "B")]
    [InlineData("C::fim-env::Trailing arguments for fim-env: ['x',]", "list", "x")]
    [InlineData("C::fim-bind::Missing op for 'fim-bind' command (add,del,list)")]
    [InlineData("C::fim-bind::Invalid bind operation", "mv")]
    [InlineData("C::fim-bind::Invalid operation for bind", "none")]
    [InlineData("C::fim-bind::Incorrect number of arguments for 'add' (<ro,rw,dev> <src> <dst>)", "add", "ro", "/a")]
    [InlineData("C::fim-bind::Invalid bind type", "add", "rx", "/a", "/b")]
    [InlineData("C::fim-bind::Incorrect number of arguments for 'del' (<index>)", "del")]
    [InlineData("C::fim-bind::Index argument for 'del' is not a number", "del", "-1")]
    [InlineData("C::fim-bind::Invalid index", "del", "")]
    [InlineData("C::fim-bind::Invalid index", "del", "99999999999999999999")]
    [InlineData("C::fim-bind::'list' command takes no arguments", "list", "x")]
    [InlineData("C::fim-boot::Missing op for 'fim-boot' (<set|show|clear>)")]
    [InlineData("C::fim-boot::Invalid boot operation", "none")]
    [InlineData("C::fim-boot::Missing program for 'set' operation", "set")]
    [InlineData("C::fim-boot::Trailing arguments for fim-boot: ['x',]", "show", "x")]
    [InlineData("C::fim-overlay::Missing op for 'fim-overlay' (<set|show>)")]
    [InlineData("C::fim-overlay::Invalid overlay operation", "get")]
    [InlineData("C::fim-overlay::Invalid operation for fim-overlay", "none")]
    [InlineData("C::fim-overlay::Missing argument for 'set'", "set")]
    [InlineData("C::fim-overlay::Invalid overlay type", "set", "aufs")]
    [InlineData("C::fim-overlay::Invalid overlay option", "set", "none")]
    [InlineData("C::fim-overlay::Trailing arguments for fim-overlay: ['x',]", "set", "bwrap", "x")]
    [InlineData("C::fim-casefold::Incorrect number of arguments for 'fim-casefold' (<on|off>)")]
    [InlineData("C::fim-casefold::Invalid casefold switch", "none")]
    [InlineData("C::fim-casefold::Trailing arguments for fim-casefold: ['x',]", "on", "x")]
    [InlineData("C::fim-notify::Incorrect number of arguments for 'fim-notify' (<on|off>)")]
    [InlineData("C::fim-notify::Incorrect number of arguments for 'fim-notify' (<on|off>)", "on", "x")]
    [InlineData("C::fim-notify::Invalid notify switch", "maybe")]
    [InlineData("C::fim-remote::Missing op for 'fim-remote' (<set|show|clear>)")]
    [InlineData("C::fim-remote::Invalid remote operation", "none")]
    [InlineData("C::fim-remote::Missing URL for 'set' operation", "set")]
    [InlineData("C::fim-version::Missing op for 'fim-version' (<short|full|deps>)")]
    [InlineData("C::fim-version::Invalid version operation", "long")]
    [InlineData("C::fim-version::Invalid operation for fim-version", "none")]
    [InlineData("C::fim-version::Trailing arguments for fim-version: ['x',]", "short", "x")]
    [InlineData("C::fim-help::Invalid argument for help command: nope", "nope")]
    [InlineData("C::fim-frobnicate::Unknown command: fim-frobnicate")]
    public void Bad_input_gets_one_line_exit_125_and_leaves_the_image_unchanged(string expected, params string[] rest)
    {
        foreach (var who in new[] { Identity.Root, Identity.User })
        {
            string image = Launcher.NewImage(who);
            Ok(who, image, "fim-perms", "add", "home");
            string before = Hash(image);
            string command = expected.Split("::")[1];
            var result = Launcher.Run(who, image, [command, .. rest]);
            Assert.True(result.ExitCode == 125, result.ToString());
            Assert.Equal(expected + "\n", result.Stderr);
            Assert.Equal("", result.Stdout);
            Assert.Equal(before, Hash(image));
        }
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Environment_is_stored_unexpanded_and_listed_expanded(Identity who)
    {
        string image = Launcher.NewImage(who);
        var added = Launcher.Run(who, image, "fim-env", "add", "B=$HOME/x", "A=hello world", "C=\"hello world\"", "D=a=b", "E=");
        Assert.Equal(0, added.ExitCode);
        Assert.Equal(
            "Included variable 'B' with value '$HOME/x'\nIncluded variable 'A' with value 'hello world'\n" +
            "Included variable 'C' with value '\"hello world\"'\nIncluded variable 'D' with value 'a=b'\nIncluded variable 'E' with value ''\n",
            added.Stdout);
        string home = Path.GetDirectoryName(image)!;
        string expectedHome = who == Identity.Root ? Environment.GetEnvironmentVariable("HOME")! : home;
        Assert.Equal($"A=hello\nB={expectedHome}/x\nC=hello world\nD=a=b\nE=\n", Ok(who, image, "fim-env", "list"));

        var deleted = Launcher.Run(who, image, "fim-env", "del", "A", "Z");
        Assert.Equal("Erase key 'A'\nKey 'Z' not found for deletion\n", deleted.Stdout);
        Ok(who, image, "fim-env", "set", "ONLY=1");
        Assert.Equal("ONLY=1\n", Ok(who, image, "fim-env", "list"));
        Ok(who, image, "fim-env", "clear");
        Assert.Equal("", Ok(who, image, "fim-env", "list"));
    }

    [Fact]
    public void Environment_set_validates_before_it_clears()
    {
        string image = Launcher.NewImage(Identity.Root);
        Ok(Identity.Root, image, "fim-env", "add", "KEEP=1");
        Assert.Equal(125, Launcher.Run(Identity.Root, image, "fim-env", "set", "A=1", "bad").ExitCode);
        Assert.Equal("KEEP=1\n", Ok(Identity.Root, image, "fim-env", "list"));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Bindings_are_indexed_listed_as_json_and_renumbered_on_delete(Identity who)
    {
        string image = Launcher.NewImage(who);
        Assert.Equal("Binding index is '0'\n", Ok(who, image, "fim-bind", "add", "ro", "$HOME/Music", "/Music"));
        Assert.Equal("Binding index is '1'\n", Ok(who, image, "fim-bind", "add", "RW", "/srv", "/srv"));
        Assert.Equal("Binding index is '2'\n", Ok(who, image, "fim-bind", "add", "dev", "/dev/dri", "/dev/dri"));
        Assert.Equal("Erase element with index '1'\n", Ok(who, image, "fim-bind", "del", "1"));
        Assert.Equal("No element with index '7' found\n", Ok(who, image, "fim-bind", "del", "7"));
        Assert.Equal(
            "{\n  \"0\": {\n    \"dst\": \"/Music\",\n    \"src\": \"$HOME/Music\",\n    \"type\": \"ro\"\n  },\n" +
            "  \"1\": {\n    \"dst\": \"/dev/dri\",\n    \"src\": \"/dev/dri\",\n    \"type\": \"dev\"\n  }\n}\n",
            Ok(who, image, "fim-bind", "list"));
    }

    [Fact]
    public void Bindings_list_sorts_keys_as_strings()
    {
        string image = Launcher.NewImage(Identity.Root);
        for (int i = 0; i < 11; i++)
            Ok(Identity.Root, image, "fim-bind", "add", "ro", $"/s{i}", $"/d{i}");
        using var json = JsonDocument.Parse(Ok(Identity.Root, image, "fim-bind", "list"));
        Assert.Equal(["0", "1", "10", "2", "3", "4", "5", "6", "7", "8", "9"], json.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Boot_command_is_set_shown_and_cleared(Identity who)
    {
        string image = Launcher.NewImage(who);
        Assert.Equal("{\n  \"args\": [],\n  \"program\": \"bash\"\n}\n", Ok(who, image, "fim-boot", "show"));
        Ok(who, image, "fim-boot", "set", "firefox", "--no-remote", "--private-window");
        Assert.Equal("{\n  \"args\": [\n    \"--no-remote\",\n    \"--private-window\"\n  ],\n  \"program\": \"firefox\"\n}\n",
            Ok(who, image, "fim-boot", "show"));
        Ok(who, image, "fim-boot", "clear");
        Assert.Equal("{\n  \"args\": [],\n  \"program\": \"bash\"\n}\n", Ok(who, image, "fim-boot", "show"));
    }

    [Fact]
    public void Oversized_boot_command_is_refused_and_nothing_changes()
    {
        string image = Launcher.NewImage(Identity.Root);
        Ok(Identity.Root, image, "fim-boot", "set", "app");
        string before = Hash(image);
        var result = Launcher.Run(Identity.Root, image, "fim-boot", "set", new string('x', 10_000));
        Assert.Equal(125, result.ExitCode);
        Assert.Equal("E::fim-boot::Not enough space to fit json data\n", result.Stderr);
        Assert.Equal(before, Hash(image));
    }

    [Fact]
    public void Overlay_show_prints_the_effective_type()
    {
        var who = Identity.Root;
        string image = Launcher.NewImage(who);
        Assert.Equal("BWRAP\n", Ok(who, image, "fim-overlay", "show"));
        Ok(who, image, "fim-overlay", "set", "UnionFS");
        Assert.Equal("UNIONFS\n", Ok(who, image, "fim-overlay", "show"));
        var env = new Dictionary<string, string?> { ["FIM_OVERLAY"] = "overlayfs" };
        Assert.Equal("OVERLAYFS\n", Launcher.Run(who, image, env, "fim-overlay", "show").Stdout);
        env["FIM_OVERLAY"] = "OverlayFS"; // not exact: ignored
        Assert.Equal("UNIONFS\n", Launcher.Run(who, image, env, "fim-overlay", "show").Stdout);
        Ok(who, image, "fim-overlay", "set", "bwrap");
        Ok(who, image, "fim-casefold", "on");
        var fallback = Launcher.Run(who, image, "fim-overlay", "show");
        Assert.Equal("UNIONFS\n", fallback.Stdout);
        Assert.Equal("W::fim-overlay::casefold cannot be used with bwrap overlayfs, falling back to unionfs\n", fallback.Stderr);
        Ok(who, image, "fim-casefold", "off");
        Assert.Equal("BWRAP\n", Ok(who, image, "fim-overlay", "show"));
        Assert.Equal("UNIONFS\n", Launcher.Run(who, image, new Dictionary<string, string?> { ["FIM_CASEFOLD"] = "1" }, "fim-overlay", "show").Stdout);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Remote_is_set_shown_and_cleared(Identity who)
    {
        string image = Launcher.NewImage(who);
        Assert.Equal("Set remote URL to 'http://127.0.0.1:8000/r'\n", Ok(who, image, "fim-remote", "set", "http://127.0.0.1:8000/r"));
        Assert.Equal("http://127.0.0.1:8000/r\n", Ok(who, image, "fim-remote", "show"));
        Assert.Equal("Cleared remote URL\n", Ok(who, image, "fim-remote", "clear"));
        Assert.Equal(125, Launcher.Run(who, image, "fim-remote", "show").ExitCode);
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Version_reports_short_full_and_deps(Identity who)
    {
        string image = Launcher.NewImage(who);
        string version = Ok(who, image, "fim-version", "short");
        Assert.Matches(@"^v\d+\.\d+\.\d+\n$", version);
        using var full = JsonDocument.Parse(Ok(who, image, "fim-version", "FULL"));
        Assert.Equal(["COMMIT", "DISTRIBUTION", "TIMESTAMP", "VERSION"], full.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("BLUEPRINT", full.RootElement.GetProperty("DISTRIBUTION").GetString());
        Assert.Equal(version.Trim(), full.RootElement.GetProperty("VERSION").GetString());
        Assert.Matches("^[0-9a-f]{7}$", full.RootElement.GetProperty("COMMIT").GetString()!);
        Assert.Matches(@"^\d{14}$", full.RootElement.GetProperty("TIMESTAMP").GetString()!);
        using var deps = JsonDocument.Parse(Ok(who, image, "fim-version", "deps"));
        var names = deps.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("Akka", names);
        // libzstd is linked into the launcher; the managed port it replaced is not in it.
        Assert.Contains("libzstd", names);
        Assert.DoesNotContain("ZstdSharp.Port", names);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        foreach (var dep in deps.RootElement.EnumerateObject())
        {
            Assert.Matches("^[0-9a-f]{64}$", dep.Value.GetProperty("sha").GetString()!);
            Assert.NotEmpty(dep.Value.GetProperty("version").GetString()!);
            Assert.NotEmpty(dep.Value.GetProperty("licenses").EnumerateArray().First().GetProperty("type").GetString()!);
        }
    }

    [Fact]
    public void Help_goes_to_stderr_without_topic_and_stdout_with_one()
    {
        string image = Launcher.NewImage(Identity.Root);
        var general = Launcher.Run(Identity.Root, image, "fim-help");
        Assert.Equal(0, general.ExitCode);
        Assert.Equal("", general.Stdout);
        Assert.StartsWith("Flatimage - Portable Linux Applications\nfim-help : See usage details for specified command\nUsage: fim-help <cmd>\n", general.Stderr);
        Assert.EndsWith("Example: fim-help bind\n\n", general.Stderr);

        var exec = Launcher.Run(Identity.Root, image, "fim-help", "exec", "ignored");
        Assert.Equal(0, exec.ExitCode);
        Assert.Equal(
            "Flatimage - Portable Linux Applications\nfim-exec : Executes a command as a regular user\nUsage: fim-exec <program> [args...]\n" +
            "  <program> : Program to run: a name looked up on PATH, or a full path\n  <args...> : Arguments given to the program\n" +
            "Example: fim-exec echo -e \"hello\\nworld\"\n",
            exec.Stdout);
        foreach (var topic in new[] { "bind", "boot", "casefold", "desktop", "env", "instance", "layer", "notify", "overlay", "perms", "recipe", "remote", "root", "unshare", "version" })
        {
            var page = Launcher.Run(Identity.Root, image, "fim-help", topic);
            Assert.Equal(0, page.ExitCode);
            Assert.StartsWith($"Flatimage - Portable Linux Applications\nfim-{topic} : ", page.Stdout);
            Assert.Contains("\nUsage: fim-" + topic, page.Stdout);
        }
        Assert.Contains("Note: Permissions: all,audio,dbus_system,dbus_user,dev,gpu,home,input,media,network,optical,portal,shm,udev,usb,wayland,xorg\n",
            Launcher.Run(Identity.Root, image, "fim-help", "perms").Stdout);
    }

    [Fact]
    public void Main_offset_prints_the_configuration_offset_and_exits()
    {
        string image = Launcher.NewImage(Identity.Root);
        var result = Launcher.Run(Identity.Root, image, new Dictionary<string, string?> { ["FIM_MAIN_OFFSET"] = "1" }, "fim-perms", "add", "home");
        Assert.Equal(0, result.ExitCode);
        long offset = long.Parse(result.Stdout.Trim());
        Assert.Equal(0, offset % 4096);
        // The two 512 KiB configuration slots, then the tools bundle's header.
        using (var file = File.OpenHandle(image))
        {
            var magic = new byte[8];
            RandomAccess.Read(file, magic, offset + 1024 * 1024);
            Assert.Equal("FIMTOOL1"u8.ToArray(), magic);
        }
        Assert.Equal("", Ok(Identity.Root, image, "fim-perms", "list")); // it did not run the command
    }

    [Theory]
    [MemberData(nameof(Identities))]
    public void Configuration_commands_leave_no_trace_next_to_the_image(Identity who)
    {
        string image = Launcher.NewImage(who);
        Ok(who, image, "fim-perms", "add", "home");
        Ok(who, image, "fim-env", "add", "A=1");
        Ok(who, image, "fim-perms", "list");
        Assert.Equal([image], Directory.GetFileSystemEntries(Path.GetDirectoryName(image)!));
    }

    private static string Ok(Identity who, string image, params string[] args)
    {
        var result = Launcher.Run(who, image, args);
        Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: {result}");
        return result.Stdout;
    }

    internal static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));
}
