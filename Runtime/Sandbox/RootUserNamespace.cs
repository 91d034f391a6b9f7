using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Native.Spawn;
using FlatImage.Runtime.Tools;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The user namespace of a root caller's sandbox: every uid and gid maps to itself.
///
/// Why not bwrap's own --unshare-user: bwrap maps exactly one id, so a root caller's guest would
/// have uid 0 and nothing else, and a package whose files belong to a system user (man-db's
/// cache is the 'man' user's) fails to unpack (chown: EINVAL). Why a namespace at all: without
/// one the guest is the host's root with the host's capabilities (open_by_handle_at to any host
/// file, remounting, the host's hostname, /proc/sys). In a namespace of its own, the guest's
/// capabilities act only on what that namespace owns; the identity map gives it no id it did
/// not have, and files it writes belong to the same ids as before.
///
/// The namespace is made by a short-lived helper (the bundled busybox's <c>unshare -U</c>: a
/// .NET process has threads, and unshare(CLONE_NEWUSER) is refused to a threaded process), whose
/// maps the launcher writes as the namespace's parent's root; the launcher keeps an fd to it,
/// which bwrap joins with <c>--userns</c>, and the helper is killed at once.
/// </summary>
public static class RootUserNamespace
{
    /// <summary>The fd number bwrap finds the namespace at (<c>--userns 3</c>).</summary>
    public const int ChildFd = 3;

    /// <summary>Whether a run of this caller uses it: only root may write another namespace's full identity map.</summary>
    public static bool AppliesTo(HostIdentity host) => host.Uid == 0;

    /// <exception cref="SandboxUnavailableException">no busybox to make it with, or the kernel refused.</exception>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle Create(string? bundledBin)
    {
        string busybox = HostTools.Find("busybox", bundledBin)
            ?? throw new SandboxUnavailableException("Cannot create the sandbox's user namespace: busybox is missing");
        using var helper = ChildProcess.Start(busybox, [busybox, "unshare", "-U", "--", "sleep", "60"], ChildProcess.EnvironmentWith());
        try
        {
            string own = new FileInfo("/proc/self/ns/user").LinkTarget ?? "";
            string theirs = $"/proc/{helper.Pid}/ns/user";
            var deadline = Environment.TickCount64 + 5_000;
            // The helper has entered its namespace once its link names another one than ours.
            while ((new FileInfo(theirs).LinkTarget ?? own) == own)
            {
                if (helper.WaitForExit(TimeSpan.FromMilliseconds(1)) is { } status)
                    throw new SandboxUnavailableException($"Cannot create the sandbox's user namespace: busybox unshare {ChildProcess.Describe(status)}");
                if (Environment.TickCount64 > deadline)
                    throw new SandboxUnavailableException("Cannot create the sandbox's user namespace: busybox unshare did not start");
            }
            // Each id to itself, all of them: the guest is exactly who it would be without the namespace, minus the host's capabilities.
            File.WriteAllText($"/proc/{helper.Pid}/uid_map", "0 0 4294967295\n");
            File.WriteAllText($"/proc/{helper.Pid}/gid_map", "0 0 4294967295\n");
            return File.OpenHandle(theirs, FileMode.Open, FileAccess.Read);
        }
        catch (IOException e)
        {
            throw new SandboxUnavailableException($"Cannot create the sandbox's user namespace: {e.Message}");
        }
        finally
        {
            helper.Kill(Signal.SIGKILL);
            helper.WaitForExit(Timeout.InfiniteTimeSpan);
        }
    }
}
