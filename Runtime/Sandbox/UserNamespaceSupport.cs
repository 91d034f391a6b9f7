namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// An unprivileged sandbox needs user namespaces (bwrap is not setuid). Hosts can forbid them;
/// say which setting does, in one line, before bwrap fails with a less helpful message.
/// </summary>
public static class UserNamespaceSupport
{
    /// <summary>The reason user namespaces are unavailable to unprivileged users, or null when nothing forbids them.</summary>
    public static string? Problem(string procSys = "/proc/sys")
    {
        if (Read(procSys, "user/max_user_namespaces") == "0")
            return "User namespaces are disabled (user.max_user_namespaces = 0): set it to a positive number, e.g. sysctl -w user.max_user_namespaces=15000";
        if (Read(procSys, "kernel/unprivileged_userns_clone") == "0")
            return "Unprivileged user namespaces are disabled: run sysctl -w kernel.unprivileged_userns_clone=1";
        if (Read(procSys, "kernel/apparmor_restrict_unprivileged_userns") == "1")
            return "AppArmor restricts unprivileged user namespaces: run sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or give bwrap an AppArmor profile that allows userns";
        return null;
    }

    private static string? Read(string procSys, string key)
    {
        try
        {
            return File.ReadAllText(Path.Combine(procSys, key)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
