using System.Buffers.Binary;
using FlatImage.Native.Io;
using FlatImage.Native.Spawn;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Tests.Sandbox;

/// <summary>
/// The seccomp filter twice over: run by a small classic-BPF interpreter on synthetic system calls
/// (every architecture and argument corner, which a test process cannot issue), and installed by
/// a real bubblewrap on a real process, whose system calls must fail with the filter's errno where,
/// without it, the kernel answers something else.
/// </summary>
public sealed class SeccompFilterTests
{
    private const uint X86_64 = 0xC000003E, I386 = 0x40000003, Aarch64 = 0xC00000B7;
    private const uint Allow = 0x7fff0000, Kill = 0x80000000;
    private const uint Eperm = 0x00050000 | 1, Enosys = 0x00050000 | 38;

    private static readonly byte[] Default = SeccompFilter.Build(allowUserNamespaces: false);

    [Theory]
    [InlineData(16u, 0x5412ul, Eperm)]          // ioctl(TIOCSTI)
    [InlineData(16u, 0x541Cul, Eperm)]          // ioctl(TIOCLINUX)
    [InlineData(16u, 0xFFFF_FFFF_0000_5412ul, Eperm)] // high bits the kernel ignores do not hide TIOCSTI
    [InlineData(16u, 0x5413ul, Allow)]          // TIOCGWINSZ
    [InlineData(16u, 0x541Bul, Allow)]          // FIONREAD
    [InlineData(250u, 0ul, Eperm)]              // keyctl
    [InlineData(248u, 0ul, Eperm)]              // add_key
    [InlineData(249u, 0ul, Eperm)]              // request_key
    [InlineData(321u, 0ul, Eperm)]              // bpf
    [InlineData(298u, 0ul, Eperm)]              // perf_event_open
    [InlineData(304u, 0ul, Eperm)]              // open_by_handle_at
    [InlineData(303u, 0ul, Allow)]              // name_to_handle_at
    [InlineData(175u, 0ul, Eperm)]              // init_module
    [InlineData(313u, 0ul, Eperm)]              // finit_module
    [InlineData(176u, 0ul, Eperm)]              // delete_module
    [InlineData(246u, 0ul, Eperm)]              // kexec_load
    [InlineData(320u, 0ul, Eperm)]              // kexec_file_load
    [InlineData(323u, 0ul, Eperm)]              // userfaultfd
    [InlineData(435u, 0ul, Enosys)]             // clone3
    [InlineData(101u, 0ul, Allow)]              // ptrace: the PID namespace bounds it
    [InlineData(0u, 0ul, Allow)]                // read
    [InlineData(59u, 0ul, Allow)]               // execve
    public void X86_64_calls_get_their_rule(uint nr, ulong arg1, uint expected)
    {
        Assert.Equal(expected, Interpret(Default, X86_64, nr, 0, arg1));
    }

    [Theory]
    [InlineData(56u, 0x10000000ul | 17, Eperm)]  // clone(CLONE_NEWUSER|SIGCHLD)
    [InlineData(56u, 0x01200011ul, Allow)]       // clone as fork() calls it
    [InlineData(56u, 0x003D0F00ul, Allow)]       // clone as pthread_create calls it
    [InlineData(272u, 0x10000000ul, Eperm)]      // unshare(CLONE_NEWUSER)
    [InlineData(272u, 0x10020000ul, Eperm)]      // unshare(CLONE_NEWUSER|CLONE_NEWNS)
    [InlineData(272u, 0x00020000ul, Allow)]      // unshare(CLONE_NEWNS)
    public void New_user_namespaces_are_refused_and_other_namespaces_are_not(uint nr, ulong flags, uint expected)
    {
        Assert.Equal(expected, Interpret(Default, X86_64, nr, flags, 0));
    }

    [Fact]
    public void Fim_unshare_user_lets_the_guest_create_user_namespaces()
    {
        var allowing = SeccompFilter.Build(allowUserNamespaces: true);
        Assert.Equal(Allow, Interpret(allowing, X86_64, 272, 0x10000000, 0));
        Assert.Equal(Allow, Interpret(allowing, X86_64, 56, 0x10000000 | 17, 0));
        Assert.Equal(Allow, Interpret(allowing, X86_64, 435, 0, 0));
        // Everything else stays.
        Assert.Equal(Eperm, Interpret(allowing, X86_64, 16, 0, 0x5412));
        Assert.Equal(Eperm, Interpret(allowing, I386, 342, 0, 0));
    }

    [Theory]
    [InlineData(54u, 0ul, 0x5412ul, Eperm)]       // ioctl(TIOCSTI)
    [InlineData(120u, 0x10000000ul, 0ul, Eperm)]  // clone(CLONE_NEWUSER)
    [InlineData(310u, 0x10000000ul, 0ul, Eperm)]  // unshare(CLONE_NEWUSER)
    [InlineData(435u, 0ul, 0ul, Enosys)]          // clone3
    [InlineData(288u, 0ul, 0ul, Eperm)]           // keyctl
    [InlineData(357u, 0ul, 0ul, Eperm)]           // bpf
    [InlineData(342u, 0ul, 0ul, Eperm)]           // open_by_handle_at
    [InlineData(374u, 0ul, 0ul, Eperm)]           // userfaultfd
    [InlineData(16u, 0ul, 0ul, Allow)]            // i386 16 is lchown, not ioctl
    [InlineData(304u, 0ul, 0ul, Allow)]           // i386 304 is readlinkat, not open_by_handle_at
    public void I386_calls_are_filtered_with_their_own_numbers(uint nr, ulong arg0, ulong arg1, uint expected)
    {
        Assert.Equal(expected, Interpret(Default, I386, nr, arg0, arg1));
    }

    [Fact]
    public void X32_calls_and_foreign_architectures_are_refused()
    {
        // x32's ioctl (514) and read (0), with the x32 bit: the x86-64 rules could not see them.
        Assert.Equal(Enosys, Interpret(Default, X86_64, 0x40000000 | 514, 0, 0x5412));
        Assert.Equal(Enosys, Interpret(Default, X86_64, 0x40000000, 0, 0));
        Assert.Equal(Kill, Interpret(Default, Aarch64, 29, 0, 0x5412));
    }

    [Fact]
    public void The_program_is_a_whole_number_of_instructions_that_ends_in_a_return()
    {
        Assert.Equal(0, Default.Length % 8);
        Assert.InRange(Default.Length / 8, 10, 4096);
        Assert.Equal(0x06, BinaryPrimitives.ReadUInt16LittleEndian(Default.AsSpan(Default.Length - 8)) & 0x07);
    }

    /// <summary>
    /// bwrap installs the filter on a perl that issues each denied call with arguments the kernel
    /// would answer with another errno (a pipe is no terminal: ENOTTY; a bad fd: EBADF; a NULL
    /// pointer: EFAULT; CLONE_NEWUSER with CLONE_FS or an unknown flag: EINVAL). The same script without the filter is the
    /// control: it proves each probe would have told the difference.
    /// </summary>
    [Fact]
    public void Bubblewrap_installs_the_filter_and_the_kernel_enforces_it()
    {
        string bwrap = FlatImage.Runtime.Tools.HostTools.Find("bwrap", null) ?? throw new InvalidOperationException("bwrap is missing");
        const string script = """
            sub probe { my ($name, $r) = @_; print "$name=", ($r == -1 ? $!+0 : "ok"), "\n"; }
            probe("tiocsti", syscall(16, 0, 0x5412, 0) );
            probe("tiocsti-high", syscall(16, 0, 0x7fffffff00005412, 0));
            probe("tioclinux", syscall(16, 0, 0x541C, 0));
            probe("clone-newuser", syscall(56, 0x10000000 | 0x200, 0, 0, 0, 0));
            probe("unshare-newuser", syscall(272, 0x10000000 | 0x2000));
            probe("clone3", syscall(435, 0, 0));
            probe("keyctl", syscall(250, 0xffff, 0, 0, 0, 0));
            probe("add_key", syscall(248, 0, 0, 0, 0, 0));
            probe("bpf", syscall(321, 0xffff, 0, 0));
            probe("perf_event_open", syscall(298, 0, 0, -1, -1, 0));
            probe("open_by_handle_at", syscall(304, -1, 0, 0));
            probe("finit_module", syscall(313, -1, 0, 0));
            probe("kexec_file_load", syscall(320, -1, -1, 0, 0, 0));
            probe("getppid", syscall(110));
            """;
        var filtered = Probe(bwrap, script, withFilter: true);
        var control = Probe(bwrap, script, withFilter: false);
        foreach (string name in new[] { "tiocsti", "tiocsti-high", "tioclinux", "clone-newuser", "unshare-newuser", "keyctl", "add_key", "bpf", "perf_event_open", "open_by_handle_at", "finit_module", "kexec_file_load" })
        {
            Assert.True(filtered[name] == "1", $"{name}: with the filter errno {filtered[name]}, expected EPERM\n{string.Join('\n', filtered)}");
            Assert.True(control[name] != "1", $"{name}: the control already fails with EPERM, so the probe proves nothing");
        }
        Assert.Equal("38", filtered["clone3"]);
        Assert.NotEqual("38", control["clone3"]);
        Assert.Equal("ok", filtered["getppid"]);
    }

    private static Dictionary<string, string> Probe(string bwrap, string script, bool withFilter)
    {
        string dir = Directory.CreateTempSubdirectory("fim-seccomp-").FullName;
        try
        {
            string output = Path.Combine(dir, "out");
            List<string> argv = [bwrap, "--dev-bind", "/", "/", "--die-with-parent"];
            if (withFilter)
                argv.AddRange(["--seccomp", SeccompFilter.ChildFd.ToString()]);
            argv.AddRange(["--", "sh", "-c", "exec perl -e \"$0\" </dev/null >\"$1\" 2>&1", script, output]);
            using var filter = SealedMemoryFile.Create("test-seccomp", Default, avoidFd: SeccompFilter.ChildFd);
            using var child = ChildProcess.Start(bwrap, argv, ChildProcess.EnvironmentWith(), withFilter ? [(filter, SeccompFilter.ChildFd)] : null);
            int status = child.WaitForExit(TimeSpan.FromSeconds(30)) ?? throw new TimeoutException("bwrap did not finish");
            string text = File.ReadAllText(output);
            Assert.True(ExitStatus.ToShellStatus(status) == 0, $"exit {ExitStatus.ToShellStatus(status)}: {text}");
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Runs a classic BPF seccomp program (LD W ABS, JEQ/JGE/JSET K, RET K: all the builder emits) on one system call.</summary>
    private static uint Interpret(byte[] program, uint arch, uint nr, ulong arg0, ulong arg1)
    {
        var data = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(data, nr);
        BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(4), arch);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(16), arg0);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(24), arg1);
        uint a = 0;
        for (int pc = 0; pc < program.Length / 8;)
        {
            var insn = program.AsSpan(pc * 8, 8);
            ushort code = BinaryPrimitives.ReadUInt16LittleEndian(insn);
            byte jt = insn[2], jf = insn[3];
            uint k = BinaryPrimitives.ReadUInt32LittleEndian(insn[4..]);
            switch (code)
            {
                case 0x20: // BPF_LD | BPF_W | BPF_ABS
                    Assert.True(k % 4 == 0 && k < 64, $"load at {k}");
                    a = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)k));
                    pc++;
                    break;
                case 0x15: pc += 1 + (a == k ? jt : jf); break;        // JEQ K
                case 0x35: pc += 1 + (a >= k ? jt : jf); break;        // JGE K
                case 0x45: pc += 1 + ((a & k) != 0 ? jt : jf); break;  // JSET K
                case 0x06: return k;                                   // RET K
                default: throw new InvalidOperationException($"unexpected instruction {code:x} at {pc}");
            }
        }
        throw new InvalidOperationException("fell off the end of the program");
    }
}
