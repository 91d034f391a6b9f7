using System.Diagnostics;
using System.Runtime.InteropServices;
using FlatImage.Native.Interop;
using Xunit;

namespace FlatImage.Native.Tests.Interop;

/// <summary>
/// Compiles a C program against the system headers and compares the constants and struct
/// offsets it prints with the C# mirrors in Native/Interop (Tmds.LibC does the same).
/// </summary>
public sealed class HeaderLayoutTests
{
    private const string Program = """
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <stddef.h>
        #include <fcntl.h>
        #include <unistd.h>
        #include <sys/stat.h>
        #include <sys/sysmacros.h>
        #include <dirent.h>
        #include <linux/limits.h>
        #include <sys/socket.h>
        #include <sys/un.h>
        #define P(name, value) printf("%s=%lld\n", name, (long long)(value))
        struct linux_dirent64 { unsigned long long d_ino; long long d_off; unsigned short d_reclen; unsigned char d_type; char d_name[]; };
        int main(void) {
            P("sizeof_statx", sizeof(struct statx));
            P("stx_mode", offsetof(struct statx, stx_mode));
            P("stx_ino", offsetof(struct statx, stx_ino));
            P("stx_size", offsetof(struct statx, stx_size));
            P("stx_mtime", offsetof(struct statx, stx_mtime));
            P("stx_rdev_major", offsetof(struct statx, stx_rdev_major));
            P("stx_dev_minor", offsetof(struct statx, stx_dev_minor));
            P("AT_FDCWD", AT_FDCWD);
            P("AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW);
            P("AT_NO_AUTOMOUNT", AT_NO_AUTOMOUNT);
            P("STATX_BASIC_STATS", STATX_BASIC_STATS);
            P("O_CLOEXEC", O_CLOEXEC);
            P("X_OK", X_OK);
            P("O_NONBLOCK", O_NONBLOCK);
            P("O_DIRECTORY", O_DIRECTORY);
            P("O_NOFOLLOW", O_NOFOLLOW);
            P("S_IFSOCK", S_IFSOCK);
            P("XATTR_SIZE_MAX", XATTR_SIZE_MAX);
            P("XATTR_LIST_MAX", XATTR_LIST_MAX);
            P("d_reclen", offsetof(struct linux_dirent64, d_reclen));
            P("d_type", offsetof(struct linux_dirent64, d_type));
            P("d_name", offsetof(struct linux_dirent64, d_name));
            P("makedev", makedev(4095, 1000000));
            P("sizeof_sockaddr_un", sizeof(struct sockaddr_un));
            P("sun_path", offsetof(struct sockaddr_un, sun_path));
            P("sizeof_ucred", sizeof(struct ucred));
            P("ucred_uid", offsetof(struct ucred, uid));
            P("sizeof_msghdr", sizeof(struct msghdr));
            P("msg_control", offsetof(struct msghdr, msg_control));
            P("msg_flags", offsetof(struct msghdr, msg_flags));
            P("SO_PEERCRED", SO_PEERCRED);
            P("MSG_NOSIGNAL", MSG_NOSIGNAL);
            P("MSG_CMSG_CLOEXEC", MSG_CMSG_CLOEXEC);
            P("MSG_CTRUNC", MSG_CTRUNC);
            P("SHUT_RDWR", SHUT_RDWR);
            P("SOCK_CLOEXEC", SOCK_CLOEXEC);
            return 0;
        }
        """;

    [Fact]
    public void Stat_fcntl_dirent_and_xattr_mirrors_match_the_C_headers()
    {
        var c = CompileAndRun();
        Assert.Equal(Marshal.SizeOf<Stat.statx_t>(), c["sizeof_statx"]);
        Assert.Equal((long)Marshal.OffsetOf<Stat.statx_t>(nameof(Stat.statx_t.stx_mode)), c["stx_mode"]);
        Assert.Equal((long)Marshal.OffsetOf<Stat.statx_t>(nameof(Stat.statx_t.stx_ino)), c["stx_ino"]);
        Assert.Equal((long)Marshal.OffsetOf<Stat.statx_t>(nameof(Stat.statx_t.stx_size)), c["stx_size"]);
        Assert.Equal((long)Marshal.OffsetOf<Stat.statx_t>(nameof(Stat.statx_t.stx_mtime)), c["stx_mtime"]);
        Assert.Equal((long)Marshal.OffsetOf<Stat.statx_t>(nameof(Stat.statx_t.stx_rdev_major)), c["stx_rdev_major"]);
        Assert.Equal((long)Marshal.OffsetOf<Stat.statx_t>(nameof(Stat.statx_t.stx_dev_minor)), c["stx_dev_minor"]);
        Assert.Equal(Stat.AT_FDCWD, c["AT_FDCWD"]);
        Assert.Equal(Stat.AT_SYMLINK_NOFOLLOW, c["AT_SYMLINK_NOFOLLOW"]);
        Assert.Equal(Stat.AT_NO_AUTOMOUNT, c["AT_NO_AUTOMOUNT"]);
        Assert.Equal(Stat.STATX_BASIC_STATS, c["STATX_BASIC_STATS"]);
        Assert.Equal(Fcntl.O_CLOEXEC, c["O_CLOEXEC"]);
        Assert.Equal(Unistd.X_OK, c["X_OK"]);
        Assert.Equal(Fcntl.O_NONBLOCK, c["O_NONBLOCK"]);
        Assert.Equal(Fcntl.O_DIRECTORY, c["O_DIRECTORY"]);
        Assert.Equal(Fcntl.O_NOFOLLOW, c["O_NOFOLLOW"]);
        Assert.Equal(Stat.S_IFSOCK, c["S_IFSOCK"]);
        Assert.Equal(Xattr.XATTR_SIZE_MAX, c["XATTR_SIZE_MAX"]);
        Assert.Equal(Xattr.XATTR_LIST_MAX, c["XATTR_LIST_MAX"]);
        Assert.Equal(Dirent.d_reclen_offset, c["d_reclen"]);
        Assert.Equal(Dirent.d_type_offset, c["d_type"]);
        Assert.Equal(Dirent.d_name_offset, c["d_name"]);
        Assert.Equal((long)Stat.makedev(4095, 1_000_000), c["makedev"]);
        Assert.Equal(4095u, Stat.major(Stat.makedev(4095, 1_000_000)));
        Assert.Equal(1_000_000u, Stat.minor(Stat.makedev(4095, 1_000_000)));
    }

    [Fact]
    public void Socket_mirrors_match_the_C_headers()
    {
        var c = CompileAndRun();
        Assert.Equal(Marshal.SizeOf<Socket.sockaddr_un>(), c["sizeof_sockaddr_un"]);
        Assert.Equal((long)Marshal.OffsetOf<Socket.sockaddr_un>(nameof(Socket.sockaddr_un.sun_path)), c["sun_path"]);
        Assert.Equal(Marshal.SizeOf<Socket.ucred>(), c["sizeof_ucred"]);
        Assert.Equal((long)Marshal.OffsetOf<Socket.ucred>(nameof(Socket.ucred.uid)), c["ucred_uid"]);
        Assert.Equal(Marshal.SizeOf<Socket.msghdr>(), c["sizeof_msghdr"]);
        Assert.Equal((long)Marshal.OffsetOf<Socket.msghdr>(nameof(Socket.msghdr.msg_control)), c["msg_control"]);
        Assert.Equal((long)Marshal.OffsetOf<Socket.msghdr>(nameof(Socket.msghdr.msg_flags)), c["msg_flags"]);
        Assert.Equal(Socket.SO_PEERCRED, c["SO_PEERCRED"]);
        Assert.Equal(Socket.MSG_NOSIGNAL, c["MSG_NOSIGNAL"]);
        Assert.Equal(Socket.MSG_CMSG_CLOEXEC, c["MSG_CMSG_CLOEXEC"]);
        Assert.Equal(Socket.MSG_CTRUNC, c["MSG_CTRUNC"]);
        Assert.Equal(Socket.SHUT_RDWR, c["SHUT_RDWR"]);
        Assert.Equal(Socket.SOCK_CLOEXEC, c["SOCK_CLOEXEC"]);
    }

    private const string ZstdProgram = """
        #include <stdio.h>
        #include <zstd.h>
        #define P(name, value) printf("%s=%lld\n", name, (long long)(value))
        int main(void) {
            P("ZSTD_CONTENTSIZE_UNKNOWN", ZSTD_CONTENTSIZE_UNKNOWN);
            P("ZSTD_CONTENTSIZE_ERROR", ZSTD_CONTENTSIZE_ERROR);
            P("ZSTD_c_compressionLevel", ZSTD_c_compressionLevel);
            P("ZSTD_c_windowLog", ZSTD_c_windowLog);
            P("ZSTD_c_enableLongDistanceMatching", ZSTD_c_enableLongDistanceMatching);
            P("sizeof_ZSTD_cParameter", sizeof(ZSTD_cParameter));
            return 0;
        }
        """;

    /// <summary>Needs zstd.h (libzstd-dev, which the launcher's build needs anyway).</summary>
    [Fact]
    public void Zstd_mirror_matches_zstd_h()
    {
        var c = CompileAndRun(ZstdProgram);
        Assert.Equal(unchecked((long)Zstd.ZSTD_CONTENTSIZE_UNKNOWN), c["ZSTD_CONTENTSIZE_UNKNOWN"]);
        Assert.Equal(unchecked((long)Zstd.ZSTD_CONTENTSIZE_ERROR), c["ZSTD_CONTENTSIZE_ERROR"]);
        Assert.Equal((long)Zstd.ZSTD_cParameter.ZSTD_c_compressionLevel, c["ZSTD_c_compressionLevel"]);
        Assert.Equal((long)Zstd.ZSTD_cParameter.ZSTD_c_windowLog, c["ZSTD_c_windowLog"]);
        Assert.Equal((long)Zstd.ZSTD_cParameter.ZSTD_c_enableLongDistanceMatching, c["ZSTD_c_enableLongDistanceMatching"]);
        Assert.Equal(sizeof(Zstd.ZSTD_cParameter), c["sizeof_ZSTD_cParameter"]);
    }

    private static Dictionary<string, long> CompileAndRun(string program = Program)
    {
        string dir = Path.Combine(Path.GetTempPath(), "fim-header-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "t.c"), program);
            Run("cc", ["-o", Path.Combine(dir, "t"), Path.Combine(dir, "t.c")], out _);
            Run(Path.Combine(dir, "t"), [], out string output);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('='))
                .ToDictionary(p => p[0], p => long.Parse(p[1]));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Run(string file, string[] arguments, out string stdout)
    {
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} failed: {stderr}");
    }
}
