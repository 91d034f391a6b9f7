using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using Xunit;

// Reflection over the interop types is the point of these tests; the test project is never AOT-compiled.
#pragma warning disable IL2026, IL2075, IL3050

namespace FlatImage.Native.Tests.Fuse;

/// <summary>
/// Checks FuseKernel.cs against /usr/include/linux/fuse.h the way Tmds.LibC checks its bindings:
/// generate a C program from the C# declarations, compile it with gcc, compare what it prints.
/// </summary>
public class FuseKernelTests
{
    private static readonly Type[] FuseStructs = typeof(FuseKernel).Assembly.GetTypes()
        .Where(t => t.Namespace == "FlatImage.Native.Fuse" && t.IsValueType && !t.IsEnum && t.Name.StartsWith("fuse_", StringComparison.Ordinal))
        .ToArray();

    [Fact]
    public void Struct_sizes_and_offsets_match_linux_fuse_h()
    {
        Assert.True(FuseStructs.Length >= 20, $"found only {FuseStructs.Length} fuse_* structs");
        var c = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <sys/ioctl.h>\n#include <linux/fuse.h>\nint main(void){\n");
        var expected = new List<string>();
        foreach (var t in FuseStructs)
        {
            c.Append($"printf(\"{t.Name} sizeof %zu\\n\", sizeof(struct {t.Name}));\n");
            expected.Add($"{t.Name} sizeof {Marshal.SizeOf(t)}");
            foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                c.Append($"printf(\"{t.Name} {f.Name} %zu\\n\", offsetof(struct {t.Name}, {f.Name}));\n");
                expected.Add($"{t.Name} {f.Name} {Marshal.OffsetOf(t, f.Name)}");
            }
        }
        c.Append("return 0;}\n");
        Assert.Equal(expected, CompileAndRun(c.ToString()));
    }

    [Fact]
    public void Constants_and_opcodes_match_linux_fuse_h()
    {
        var c = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <sys/ioctl.h>\n#include <linux/fuse.h>\nint main(void){\n");
        var expected = new List<string>();
        foreach (var f in typeof(FuseKernel).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
        {
            // Flags below bit 32 are int expressions in C ((1 << 31) is negative there): compare 32 bits.
            ulong value = Convert.ToUInt64(f.GetRawConstantValue());
            var cast = value <= uint.MaxValue ? "(uint32_t)" : "";
            c.Append($"printf(\"{f.Name} %llu\\n\", (unsigned long long){cast}({f.Name}));\n");
            expected.Add($"{f.Name} {value}");
        }
        foreach (var v in Enum.GetValues<fuse_opcode>())
        {
            c.Append($"printf(\"{v} %llu\\n\", (unsigned long long)({v}));\n");
            expected.Add($"{v} {(ulong)v}");
        }
        c.Append("return 0;}\n");
        Assert.Equal(expected, CompileAndRun(c.ToString()));
        Assert.Equal(32, FuseKernel.FUSE_DIRENT_ALIGN(FuseKernel.FUSE_NAME_OFFSET + 3));
    }

    [Fact]
    public void Interop_structs_match_libc_headers()
    {
        var c = """
            #define _GNU_SOURCE
            #include <stdio.h>
            #include <stddef.h>
            #include <sys/socket.h>
            #include <sys/stat.h>
            #include <poll.h>
            #include <spawn.h>
            #include <signal.h>
            int main(void){
            printf("msghdr %zu %zu %zu %zu\n", sizeof(struct msghdr), offsetof(struct msghdr, msg_iov), offsetof(struct msghdr, msg_control), offsetof(struct msghdr, msg_flags));
            printf("cmsghdr %zu %zu\n", sizeof(struct cmsghdr), (size_t)CMSG_SPACE(sizeof(int)));
            printf("pollfd %zu\n", sizeof(struct pollfd));
            printf("stat %zu %zu %zu %zu\n", sizeof(struct stat), offsetof(struct stat, st_mode), offsetof(struct stat, st_rdev), offsetof(struct stat, st_size));
            printf("spawn %d %d\n", sizeof(posix_spawn_file_actions_t) <= 128, sizeof(posix_spawnattr_t) <= 512);
            printf("sigset %zu\n", sizeof(sigset_t));
            printf("flags %d %d %d %d\n", SOCK_CLOEXEC, MSG_CMSG_CLOEXEC, MSG_CTRUNC, POSIX_SPAWN_SETSIGMASK);
            return 0;}
            """;
        var expected = new List<string>
        {
            $"msghdr {Marshal.SizeOf<Socket.msghdr>()} {Marshal.OffsetOf<Socket.msghdr>("msg_iov")} {Marshal.OffsetOf<Socket.msghdr>("msg_control")} {Marshal.OffsetOf<Socket.msghdr>("msg_flags")}",
            $"cmsghdr {Marshal.SizeOf<Socket.cmsghdr>()} {Socket.CMSG_SPACE(sizeof(int))}",
            $"pollfd {Marshal.SizeOf<Poll.pollfd>()}",
            $"stat {Marshal.SizeOf<Stat.stat_t>()} {Marshal.OffsetOf<Stat.stat_t>("st_mode")} {Marshal.OffsetOf<Stat.stat_t>("st_rdev")} {Marshal.OffsetOf<Stat.stat_t>("st_size")}",
            "spawn 1 1",
            $"sigset {Marshal.SizeOf<Signal.sigset_t>()}",
            $"flags {Socket.SOCK_CLOEXEC} {Socket.MSG_CMSG_CLOEXEC} {Socket.MSG_CTRUNC} {FlatImage.Native.Interop.Spawn.POSIX_SPAWN_SETSIGMASK}",
        };
        Assert.Equal(expected, CompileAndRun(c));
    }

    private static List<string> CompileAndRun(string source)
    {
        var dir = Directory.CreateTempSubdirectory("fim-fuse-h-");
        try
        {
            var src = Path.Combine(dir.FullName, "probe.c");
            var exe = Path.Combine(dir.FullName, "probe");
            File.WriteAllText(src, source);
            Run("gcc", "-Wall", "-o", exe, src);
            return Run(exe).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} failed: {stderr}");
        return stdout.Result;
    }
}
