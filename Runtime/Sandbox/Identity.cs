using System.Collections.Immutable;
using System.Globalization;

namespace FlatImage.Runtime.Sandbox;

/// <summary>Who the program runs as inside the sandbox (docs/cli.md §9).</summary>
public sealed record Identity(uint Uid, uint Gid, string User, string Home, string Shell)
{
    public bool IsRoot => Uid == 0;

    /// <summary>
    /// Root runs (fim-root, FIM_ROOT=1, fim-env UID=0) are uid 0 as root with home /root; otherwise
    /// fim-env UID/GID/USER/HOME override the host's values. <paramref name="env"/> holds the expanded
    /// fim-env variables; the host's come from <paramref name="host"/>.
    /// </summary>
    public static Identity Resolve(bool rootRequested, IReadOnlyDictionary<string, string> env, HostIdentity host, string defaultShell)
    {
        string shell = env.GetValueOrDefault("SHELL") is { Length: > 0 } s ? s : defaultShell;
        bool root = rootRequested || env.GetValueOrDefault("UID") == "0";
        if (root)
            return new Identity(0, 0, "root", "/root", shell);
        uint uid = Numeric(env.GetValueOrDefault("UID")) ?? host.Uid;
        uint gid = Numeric(env.GetValueOrDefault("GID")) ?? host.Gid;
        string user = env.GetValueOrDefault("USER") is { Length: > 0 } u ? u : host.User;
        string home = env.GetValueOrDefault("HOME") is { Length: > 0 } h ? h : host.Home;
        return new Identity(uid, gid, user, home, shell);
    }

    /// <summary>The one line of the instance's /etc/passwd: <c>name:x:uid:gid:name:home:shell</c>.</summary>
    public string PasswdLine() => $"{User}:x:{Uid}:{Gid}:{User}:{Home}:{Shell}";

    private static uint? Numeric(string? value) =>
        uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint n) ? n : null;
}

/// <summary>The caller on the host: uid, gid, and the name and home from $USER/$HOME or the passwd database.</summary>
public sealed record HostIdentity(uint Uid, uint Gid, string User, string Home)
{
    public static HostIdentity Current()
    {
        uint uid = Native.Interop.Unistd.getuid();
        uint gid = Native.Interop.Unistd.getgid();
        var (name, home) = FromPasswd(uid);
        return new HostIdentity(
            uid, gid,
            Environment.GetEnvironmentVariable("USER") is { Length: > 0 } u ? u : name ?? $"user{uid}",
            Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : home ?? "/");
    }

    /// <summary>The host's name for group <paramref name="gid"/> (from /etc/group, read directly as /etc/passwd is), or null.</summary>
    public string? GroupName(uint gid)
    {
        try
        {
            foreach (string line in File.ReadLines("/etc/group"))
            {
                var f = line.Split(':');
                if (f.Length >= 3 && f[2] == gid.ToString(CultureInfo.InvariantCulture) && f[0].Length > 0)
                    return f[0];
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    /// <summary>Reads /etc/passwd directly: getpwuid_r would drag NSS modules into the launcher.</summary>
    private static (string? Name, string? Home) FromPasswd(uint uid)
    {
        try
        {
            foreach (string line in File.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length >= 7 && f[2] == uid.ToString(CultureInfo.InvariantCulture))
                    return (f[0], f[5]);
            }
        }
        catch (IOException)
        {
        }
        return (null, null);
    }
}
