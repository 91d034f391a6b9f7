namespace FlatImage.Native.Fuse;

/// <summary>How to mount a FUSE connection.</summary>
public enum FuseMountMethod
{
    /// <summary>mount(2) when we are root (euid 0), fusermount3 otherwise.</summary>
    Auto,
    /// <summary>mount(2) ourselves; needs CAP_SYS_ADMIN.</summary>
    Kernel,
    /// <summary>The setuid helper fusermount3, which mounts for us and hands us the fd.</summary>
    Fusermount,
}

/// <summary>Where and how a FUSE filesystem is mounted. Read-only, no suid, no devices by default.</summary>
public sealed record FuseMountOptions(string Mountpoint)
{
    /// <summary>The "source" shown in /proc/self/mountinfo (fsname=). No commas.</summary>
    public string FsName { get; init; } = "flatimage";

    /// <summary>The type is "fuse.&lt;Subtype&gt;" in /proc/self/mountinfo. No commas.</summary>
    public string Subtype { get; init; } = "flatimage";

    public FuseMountMethod Method { get; init; } = FuseMountMethod.Auto;

    /// <summary>MS_RDONLY: layer data is immutable; the kernel then refuses writes before asking us.</summary>
    public bool ReadOnly { get; init; } = true;

    /// <summary>MS_NOSUID: set-user-id bits in image data must never grant privileges on the host.</summary>
    public bool NoSuid { get; init; } = true;

    /// <summary>MS_NODEV: device nodes in image data must never open host devices.</summary>
    public bool NoDev { get; init; } = true;

    /// <summary>
    /// allow_other. Null = decide: yes as root; as a user only when /etc/fuse.conf has
    /// user_allow_other (fusermount3 refuses it otherwise). See <see cref="FuseMount.AllowOther"/>.
    /// </summary>
    public bool? AllowOther { get; init; }

    /// <summary>default_permissions: the kernel checks mode bits, so handlers need no permission logic.</summary>
    public bool DefaultPermissions { get; init; } = true;

    /// <summary>max_read in bytes: bounds READ requests to what a worker's reply buffer holds.</summary>
    public uint MaxRead { get; init; } = 1024 * 1024;

    /// <summary>fusermount3's auto_unmount watchdog (fusermount path only).</summary>
    public bool AutoUnmount { get; init; } = true;

    /// <summary>fusermount3 to run; null searches PATH, then /usr/bin and /bin.</summary>
    public string? FusermountPath { get; init; }
}
