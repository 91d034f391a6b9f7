using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Native.Spawn;

namespace FlatImage.Native.Fuse;

/// <summary>
/// One mounted FUSE connection: the <c>/dev/fuse</c> fd bound to it, where it is mounted, and
/// (for fusermount3 mounts) the helper's watchdog process. Serving it is <see cref="FuseSession"/>'s
/// job. Teardown order for an owner: <see cref="Unmount"/>, then dispose the session (its
/// workers end on ENODEV), then <see cref="Dispose"/> (closes the fd).
/// </summary>
public sealed class FuseMount : IDisposable
{
    private readonly object _gate = new();
    private readonly SafeFd? _commSocket;   // our end of fusermount3's _FUSE_COMMFD socket
    private bool _mounted;                  // protected by _gate
    private bool _disposed;                 // protected by _gate

    private FuseMount(string mountpoint, FuseDeviceHandle device, FuseMountMethod method, bool allowOther,
        SafeFd? commSocket, ChildProcess? watchdog, string? fusermount)
    {
        Mountpoint = mountpoint;
        Device = device;
        Method = method;
        AllowOther = allowOther;
        _commSocket = commSocket;
        Watchdog = watchdog;
        FusermountPath = fusermount;
        _mounted = true;
        (DeviceNumber, ConnectionId) = FindDevice(mountpoint);
    }

    /// <summary>The absolute mount point, as /proc/self/mountinfo shows it.</summary>
    public string Mountpoint { get; }

    /// <summary>The connection's fd: hand it to a <see cref="FuseSession"/>.</summary>
    public FuseDeviceHandle Device { get; }

    public FuseMountMethod Method { get; }

    /// <summary>
    /// Whether allow_other is in effect. Without it the kernel lets only processes whose uid, euid,
    /// suid, gid, egid and sgid all equal the mounter's into the mount (fuse_allow_current_process):
    /// an unprivileged bwrap sandbox still qualifies (its user namespace maps our uid to itself),
    /// but a setuid bwrap, other users and services get EACCES.
    /// </summary>
    public bool AllowOther { get; }

    /// <summary>The mount's device number (st_dev, userspace encoding), from /proc/self/mountinfo.</summary>
    public ulong DeviceNumber { get; }

    /// <summary>The connection's name under /sys/fs/fuse/connections (the kernel's dev_t encoding).</summary>
    public uint ConnectionId { get; }

    /// <summary>fusermount3's auto_unmount watchdog (fusermount mounts with AutoUnmount), else null.</summary>
    public ChildProcess? Watchdog { get; }

    /// <summary>The fusermount3 used (fusermount mounts), else null.</summary>
    public string? FusermountPath { get; }

    public bool IsMounted { get { lock (_gate) return _mounted; } }

    /// <summary>Mounts a new FUSE connection at <see cref="FuseMountOptions.Mountpoint"/>.</summary>
    public static FuseMount Mount(FuseMountOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.FsName.Contains(',') || options.Subtype.Contains(','))
            throw new ArgumentException("fsname and subtype cannot contain commas", nameof(options));
        var mountpoint = Path.GetFullPath(options.Mountpoint);
        var method = options.Method;
        if (method == FuseMountMethod.Auto)
            method = Unistd.geteuid() == 0 ? FuseMountMethod.Kernel : FuseMountMethod.Fusermount;
        return method == FuseMountMethod.Kernel ? MountKernel(options, mountpoint) : MountFusermount(options, mountpoint);
    }

    /// <summary>
    /// Root path: open /dev/fuse and mount(2) it ourselves, as libfuse's fuse_mount_sys does.
    /// Needs CAP_SYS_ADMIN in the mount namespace's owning user namespace; see mount(2) and
    /// Documentation/filesystems/fuse.rst ("Mount options").
    /// </summary>
    private static unsafe FuseMount MountKernel(FuseMountOptions o, string mountpoint)
    {
        var device = FuseDeviceHandle.Open();
        try
        {
            bool allowOther = o.AllowOther ?? true;
            ulong flags = (o.ReadOnly ? Interop.Mount.MS_RDONLY : 0)
                | (o.NoSuid ? Interop.Mount.MS_NOSUID : 0)
                | (o.NoDev ? Interop.Mount.MS_NODEV : 0);
            var data = new StringBuilder();
            // fd=: the /dev/fuse descriptor the new superblock is bound to; our workers read it.
            data.Append(CultureInfo.InvariantCulture, $"fd={device.Fd}");
            // rootmode=: the kernel needs the root inode's type before INIT; ours is a directory.
            data.Append(",rootmode=40000");
            // user_id/group_id: the connection's owner. Without allow_other only processes with
            // exactly these credentials may enter; they also own /sys/fs/fuse/connections/<id>.
            data.Append(CultureInfo.InvariantCulture, $",user_id={Unistd.geteuid()},group_id={Unistd.getegid()}");
            // allow_other: the sandbox runs in its own user namespace and, as root, its processes
            // may run under other uids; without this option the kernel refuses them (EACCES).
            if (allowOther) data.Append(",allow_other");
            // default_permissions: the kernel checks mode bits against the caller, so a handler
            // never has to, and ACCESS requests are not sent at all.
            if (o.DefaultPermissions) data.Append(",default_permissions");
            // max_read: READ requests never exceed a worker's reply buffer.
            data.Append(CultureInfo.InvariantCulture, $",max_read={o.MaxRead}");

            int rc;
            fixed (byte* source = Utf8(o.FsName))
            fixed (byte* target = Utf8(mountpoint))
            fixed (byte* type = Utf8("fuse." + o.Subtype))
            fixed (byte* d = Utf8(data.ToString()))
                rc = Interop.Mount.mount(source, target, type, flags, d);
            if (rc != 0) throw ErrnoException.FromLastError("mount fuse", mountpoint);
            try
            {
                return new FuseMount(mountpoint, device, FuseMountMethod.Kernel, allowOther, null, null, null);
            }
            catch
            {
                // Mounted but not usable (not found in mountinfo): take it away again.
                fixed (byte* target = Utf8(mountpoint))
                    Interop.Mount.umount2(target, Interop.Mount.MNT_DETACH | Interop.Mount.UMOUNT_NOFOLLOW);
                throw;
            }
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>
    /// User path: the setuid helper fusermount3 opens /dev/fuse, mounts it (checking that we own
    /// the mount point and that the options are allowed to users), and sends us the fd over the
    /// unix socket named by _FUSE_COMMFD (libfuse lib/mount.c, fuse_mount_fusermount; the
    /// protocol is one byte of data with an SCM_RIGHTS message, see unix(7)).
    /// </summary>
    private static unsafe FuseMount MountFusermount(FuseMountOptions o, string mountpoint)
    {
        var fusermount = o.FusermountPath ?? FindFusermount()
            ?? throw new FileNotFoundException("fim: fusermount3 not found in PATH; install fuse3", "fusermount3");
        bool allowOther = o.AllowOther ?? (Unistd.geteuid() == 0 || UserAllowOther());

        var opts = new StringBuilder();
        if (o.ReadOnly) opts.Append("ro,");
        // fusermount3 adds nosuid,nodev for users anyway; say so explicitly for root.
        if (o.NoSuid) opts.Append("nosuid,");
        if (o.NoDev) opts.Append("nodev,");
        opts.Append(CultureInfo.InvariantCulture, $"fsname={o.FsName},subtype={o.Subtype},max_read={o.MaxRead}");
        if (o.DefaultPermissions) opts.Append(",default_permissions");
        // Only with user_allow_other in /etc/fuse.conf: fusermount3 refuses allow_other otherwise.
        if (allowOther) opts.Append(",allow_other");
        // auto_unmount: fusermount3 stays behind as a watchdog and unmounts when our end of the
        // socket closes (we died). Not sufficient alone (docs/architecture.md: a janitor backs it up).
        if (o.AutoUnmount) opts.Append(",auto_unmount");

        int* sv = stackalloc int[2];
        // SOCK_CLOEXEC: the socket must reach fusermount3 only, through the dup2 below.
        if (Interop.Socket.socketpair(Interop.Socket.AF_UNIX, Interop.Socket.SOCK_STREAM | Interop.Socket.SOCK_CLOEXEC, 0, sv) != 0)
            throw ErrnoException.FromLastError("socketpair");
        var ours = new SafeFd(sv[0]);
        ChildProcess? child = null;
        try
        {
            using (var theirs = new SafeFd(sv[1]))
            {
                // The child gets its end as fd 3 (4 if it already is 3): posix_spawn's dup2 clears
                // O_CLOEXEC on the new number only in the child, so it inherits exactly this fd.
                int childFd = sv[1] == 3 ? 4 : 3;
                child = ChildProcess.Start(fusermount,
                    [fusermount, "-o", opts.ToString(), "--", mountpoint],
                    ChildProcess.EnvironmentWith(("_FUSE_COMMFD", childFd.ToString(CultureInfo.InvariantCulture))),
                    [(theirs, childFd)]);
            } // close our copy of their end, so a failing fusermount3 reads as EOF below

            var device = ReceiveFd(ours, fusermount, mountpoint);
            if (device is null)
            {
                int status = child.WaitForExit(Timeout.InfiniteTimeSpan)!.Value;
                throw new IOException($"fim: {fusermount} -o {opts} -- {mountpoint}: {ChildProcess.Describe(status)} without passing the fuse fd");
            }
            if (!o.AutoUnmount)
            {
                // Without auto_unmount the helper exits once the fd is sent; reap it now.
                child.WaitForExit(Timeout.InfiniteTimeSpan);
                child.Dispose();
                child = null;
                ours.Dispose();
                return new FuseMount(mountpoint, device, FuseMountMethod.Fusermount, allowOther, null, null, fusermount);
            }
            return new FuseMount(mountpoint, device, FuseMountMethod.Fusermount, allowOther, ours, child, fusermount);
        }
        catch
        {
            ours.Dispose();
            if (child is not null)
            {
                child.WaitForExit(TimeSpan.FromSeconds(2));
                child.Dispose();
            }
            throw;
        }
    }

    /// <summary>
    /// Receives the fd fusermount3 sends: recvmsg(2) with MSG_CMSG_CLOEXEC (the fd is close-on-exec
    /// from its first instant), a truncated control message (MSG_CTRUNC) is an error, EOF = failure.
    /// </summary>
    private static unsafe FuseDeviceHandle? ReceiveFd(SafeFd socket, string fusermount, string mountpoint)
    {
        byte data;
        int controlSize = Interop.Socket.CMSG_SPACE(sizeof(int));
        byte* control = stackalloc byte[controlSize];
        var iov = new Interop.Socket.iovec { iov_base = &data, iov_len = 1 };
        bool added = false;
        socket.DangerousAddRef(ref added);
        try
        {
            while (true)
            {
                new Span<byte>(control, controlSize).Clear();
                var msg = new Interop.Socket.msghdr
                {
                    msg_iov = &iov,
                    msg_iovlen = 1,
                    msg_control = control,
                    msg_controllen = (nuint)controlSize,
                };
                nint n = Interop.Socket.recvmsg(socket.Fd, &msg, Interop.Socket.MSG_CMSG_CLOEXEC);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    throw new ErrnoException(errno, $"recvmsg from {fusermount}", mountpoint);
                }
                if (n == 0) return null;
                var cmsg = (Interop.Socket.cmsghdr*)control;
                FuseDeviceHandle? fd = null;
                if (msg.msg_controllen >= (nuint)sizeof(Interop.Socket.cmsghdr)
                    && cmsg->cmsg_level == Interop.Socket.SOL_SOCKET && cmsg->cmsg_type == Interop.Socket.SCM_RIGHTS
                    && cmsg->cmsg_len >= (nuint)Interop.Socket.CMSG_LEN(sizeof(int)))
                    fd = new FuseDeviceHandle(*(int*)Interop.Socket.CMSG_DATA(cmsg));
                if ((msg.msg_flags & Interop.Socket.MSG_CTRUNC) != 0)
                {
                    fd?.Dispose();
                    throw new IOException($"fim: recvmsg from {fusermount} for {mountpoint}: control message truncated (MSG_CTRUNC)");
                }
                return fd ?? throw new IOException($"fim: {fusermount} for {mountpoint}: message without an fd");
            }
        }
        finally
        {
            socket.DangerousRelease();
        }
    }

    /// <summary>
    /// Unmounts. Root: umount2(2) with UMOUNT_NOFOLLOW (a path in our own runtime directory, but
    /// never follow a swapped-in symlink), then MNT_DETACH when busy. User: fusermount3 -u -z
    /// (lazy, as libfuse's fuse_unmount does), waited for by pid. <paramref name="lazy"/> skips the
    /// eager attempt. Idempotent; the session's workers see ENODEV afterwards.
    /// </summary>
    public unsafe void Unmount(bool lazy = false)
    {
        lock (_gate)
        {
            if (!_mounted) return;
            if (Method == FuseMountMethod.Kernel)
            {
                fixed (byte* target = Utf8(Mountpoint))
                {
                    int rc = lazy ? -1 : Interop.Mount.umount2(target, Interop.Mount.UMOUNT_NOFOLLOW);
                    int errno = rc == 0 ? 0 : lazy ? Errno.EBUSY : Marshal.GetLastPInvokeError();
                    if (errno == Errno.EBUSY)
                    {
                        // Someone still has a file open or a cwd inside: detach it from the tree now;
                        // the kernel finishes when the last user leaves.
                        rc = Interop.Mount.umount2(target, Interop.Mount.MNT_DETACH | Interop.Mount.UMOUNT_NOFOLLOW);
                        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
                    }
                    // EINVAL: not a mount point (any more), e.g. a janitor or the user got there first.
                    if (errno != 0 && errno != Errno.EINVAL)
                        throw new ErrnoException(errno, "umount", Mountpoint);
                }
            }
            else
            {
                // First retire the auto_unmount watchdog: closing our socket end is its signal. While
                // we still serve, it finds the filesystem alive and exits without unmounting; done
                // the other way round, it would complain that the mount point is not mounted.
                StopWatchdog();
                // -z: lazy, like libfuse's fuse_kern_unmount; -q: a janitor may have been first.
                using var child = ChildProcess.Start(FusermountPath!, [FusermountPath!, "-u", "-q", "-z", "--", Mountpoint],
                    ChildProcess.EnvironmentWith());
                int status = child.WaitForExit(Timeout.InfiniteTimeSpan)!.Value;
                if (status != 0 && IsInMountinfo(Mountpoint))
                    throw new IOException($"fim: {FusermountPath} -u -z {Mountpoint}: {ChildProcess.Describe(status)}");
            }
            _mounted = false;
        }
    }

    /// <summary>
    /// Sets the mount's readahead window (/sys/class/bdi/&lt;major&gt;:&lt;minor&gt;/read_ahead_kb). The
    /// kernel offers FUSE 128 KiB of readahead (the bdi default, VM_READAHEAD_PAGES) and lowers the
    /// window to the max_readahead of our INIT reply, so sequential reads arrive as 128 KiB requests
    /// whatever max_pages allows. Raising the window afterwards lets them grow to max_read. Call it
    /// after <see cref="FuseSession.WaitForInit"/> (INIT's reply would lower it again). The bdi
    /// attributes are writable by root only: returns false, changing nothing, for anyone else.
    /// </summary>
    public bool TrySetReadAhead(uint kilobytes)
    {
        if (Unistd.geteuid() != 0) return false;
        File.WriteAllText($"/sys/class/bdi/{Stat.major(DeviceNumber)}:{Stat.minor(DeviceNumber)}/read_ahead_kb",
            kilobytes.ToString(CultureInfo.InvariantCulture));
        return true;
    }

    /// <summary>
    /// Aborts the connection through the fusectl filesystem (/sys/fs/fuse/connections/&lt;id&gt;/abort;
    /// Documentation/filesystems/fuse.rst, "Aborting a filesystem connection"): every pending and
    /// future request fails with ENOTCONN and the workers see ENODEV. Last resort for a hung server.
    /// False when fusectl is not mounted.
    /// </summary>
    public bool TryAbort()
    {
        var abort = $"/sys/fs/fuse/connections/{ConnectionId}/abort";
        if (!File.Exists(abort)) return false;
        File.WriteAllText(abort, "1");
        return true;
    }

    /// <summary>
    /// Unmounts (lazily if needed), ends fusermount3's watchdog by closing our socket end and reaps it
    /// (SIGKILL after 2 s), then closes the connection fd. Never throws for an already-gone mount.
    /// </summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        try
        {
            Unmount();
        }
        finally
        {
            StopWatchdog();
            Watchdog?.Dispose();
            Device.Dispose();
        }
    }

    /// <summary>Closes our end of the comm socket and reaps fusermount3's watchdog (SIGKILL after 2 s).</summary>
    private void StopWatchdog()
    {
        _commSocket?.Dispose();
        if (Watchdog is null || Watchdog.ExitStatus is not null) return;
        if (Watchdog.WaitForExit(TimeSpan.FromSeconds(2)) is null)
        {
            Watchdog.Kill(Signal.SIGKILL);
            Watchdog.WaitForExit(Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>
    /// Lazily detaches whatever is mounted at <paramref name="mountpoint"/>, knowing nothing but its
    /// path: what a janitor does for a launcher that died. Root: umount2(MNT_DETACH|UMOUNT_NOFOLLOW);
    /// a user: fusermount3 -u -q -z (it checks the mount is the user's own). True when nothing is
    /// mounted there afterwards.
    /// </summary>
    public static unsafe bool DetachLazily(string mountpoint)
    {
        if (Unistd.geteuid() == 0)
        {
            fixed (byte* target = Utf8(mountpoint))
                Interop.Mount.umount2(target, Interop.Mount.MNT_DETACH | Interop.Mount.UMOUNT_NOFOLLOW);
        }
        else if (FindFusermount() is { } fusermount)
        {
            using var child = ChildProcess.Start(fusermount, [fusermount, "-u", "-q", "-z", "--", mountpoint], ChildProcess.EnvironmentWith());
            child.WaitForExit(TimeSpan.FromSeconds(10));
        }
        return !IsInMountinfo(mountpoint);
    }

    /// <summary>Whether /etc/fuse.conf has user_allow_other on a line of its own (fuse(8)).</summary>
    public static bool UserAllowOther(string path = "/etc/fuse.conf")
    {
        if (!File.Exists(path)) return false;
        foreach (var line in File.ReadLines(path))
        {
            var t = line.Trim();
            if (t == "user_allow_other") return true;
        }
        return false;
    }

    /// <summary>Whether <paramref name="mountpoint"/> is a mount point in /proc/self/mountinfo.</summary>
    public static bool IsInMountinfo(string mountpoint) => FindMountinfo(Path.GetFullPath(mountpoint)) is not null;

    private static (ulong Dev, uint ConnectionId) FindDevice(string mountpoint)
    {
        var line = FindMountinfo(mountpoint)
            ?? throw new IOException($"fim: {mountpoint} is not in /proc/self/mountinfo after mounting");
        // Field 3 is major:minor of the superblock (proc(5)). Reading it does not touch the FUSE
        // mount, unlike stat(2), which would wait for INIT before the session runs.
        var mm = line.Split(' ')[2].Split(':');
        uint major = uint.Parse(mm[0], CultureInfo.InvariantCulture), minor = uint.Parse(mm[1], CultureInfo.InvariantCulture);
        ulong dev = ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8)
            | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
        // fusectl names the connection after the kernel's dev_t: MKDEV(major, minor) = major << 20 | minor.
        return (dev, (major << 20) | minor);
    }

    /// <summary>The last mountinfo line whose mount point is <paramref name="mountpoint"/>.</summary>
    /// <summary>Mount points at or below <paramref name="directory"/> in this mount namespace (proc(5): mountinfo field 5, octal-escaped).</summary>
    public static IEnumerable<string> MountpointsBelow(string directory)
    {
        string prefix = directory.TrimEnd('/') + "/";
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length <= 4) continue;
            string mountpoint = Unescape(fields[4]);
            if (mountpoint == directory || mountpoint.StartsWith(prefix, StringComparison.Ordinal))
                yield return mountpoint;
        }
    }

    private static string? FindMountinfo(string mountpoint)
    {
        string? found = null;
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 4 && Unescape(fields[4]) == mountpoint) found = line;
        }
        return found;
    }

    /// <summary>mountinfo escapes space, tab, newline and backslash as \ooo.</summary>
    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length
                && s[i + 1] is >= '0' and <= '7' && s[i + 2] is >= '0' and <= '7' && s[i + 3] is >= '0' and <= '7')
            {
                sb.Append((char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    /// <summary>fusermount3 on PATH (then the usual system locations), or null.</summary>
    public static string? FindFusermount() => Io.ExecutableSearch.OnProcessPath("fusermount3", ["/usr/bin", "/bin"]);

    private static byte[] Utf8(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
