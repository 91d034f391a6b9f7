using static FlatImage.Native.Interop.Seccomp;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// The seccomp filter of every run, handed to bubblewrap with <c>--seccomp FD</c>; bwrap installs it
/// (with no_new_privs) on the program and on its own init, after it has built the sandbox, so the
/// rules bind the guest and nothing that prepares it. A deny-list: the guest may do anything an
/// ordinary process may, except the calls below, each of which reaches past the sandbox or
/// attacks the kernel rather than serving an application.
///
/// Rules (x86-64 and i386 numbers; each returns an errno, the program keeps running):
/// <list type="bullet">
/// <item><c>ioctl(TIOCSTI)</c> → EPERM: pushes bytes into a terminal's input queue. A guest that
/// shares the caller's terminal would type commands into the caller's shell, which runs them as
/// the caller after the app exits. Only the low 32 bits of the request are compared, because the
/// kernel truncates it to an unsigned int: a request with high bits set must not slip past.</item>
/// <item><c>ioctl(TIOCLINUX)</c> → EPERM: on a virtual console, subcode 2/3 copies and pastes the
/// selection — the same keystroke injection through another door.</item>
/// <item><c>clone</c>/<c>unshare</c> with <c>CLONE_NEWUSER</c> → EPERM, and <c>clone3</c> → ENOSYS:
/// a nested user namespace hands the guest every capability inside it and with them the kernel's
/// namespaced attack surface (mount, netfilter, ...). clone3 passes its flags in memory, which a
/// filter cannot read, so it is refused as "not implemented" and libc falls back to clone, whose
/// flags are checked. Granted by <c>fim-unshare user</c>, for programs (browsers, nested
/// sandboxes) that need namespaces of their own.</item>
/// <item><c>keyctl</c>, <c>add_key</c>, <c>request_key</c> → EPERM: the kernel keyring is not
/// namespaced; a guest could read or plant keys in the caller's session and user keyrings.</item>
/// <item><c>bpf</c> → EPERM: eBPF programs and maps run in the kernel, outside any namespace.</item>
/// <item><c>perf_event_open</c> → EPERM: profiling the kernel and other processes leaks addresses
/// and timings across the boundary, and has a long record of kernel bugs.</item>
/// <item><c>open_by_handle_at</c> → EPERM: opens a file by its handle, without a path, and so
/// without the mount namespace that hides the host: the "shocker" escape from containers.</item>
/// <item><c>init_module</c>, <c>finit_module</c>, <c>delete_module</c>, <c>kexec_load</c>,
/// <c>kexec_file_load</c> → EPERM: loading kernel code or another kernel is never an application's
/// business, whatever capabilities a namespace seems to grant.</item>
/// <item><c>userfaultfd</c> → EPERM: lets a process stall the kernel at a chosen page fault, the
/// usual lever to win a kernel race.</item>
/// <item>x32 system calls (x86-64 numbers with bit 30 set) → ENOSYS: they reach the same kernel code
/// under other numbers, so rules written for x86-64 numbers would not see them.</item>
/// <item>Any architecture other than x86-64 and i386 → the process is killed: on an x86-64 kernel
/// there is none, so whatever claims one is not a program we know how to filter.</item>
/// </list>
/// <c>ptrace</c>, <c>process_vm_readv</c>/<c>writev</c> and <c>kcmp</c> stay allowed: they name their
/// target by pid, and the sandbox's own PID namespace (<c>--unshare-pid</c>, always) holds only the
/// guest's own processes, so they cannot reach outside; debuggers and strace keep working inside.
/// Since Linux 4.8 the kernel re-checks seccomp after a tracer changes a system call, so tracing
/// cannot smuggle a denied call past this filter either.
/// </summary>
public static class SeccompFilter
{
    /// <summary>The fd number bwrap reads the program from (<c>--seccomp</c>); stdio and the numbers just above stay free.</summary>
    public const int ChildFd = 10;

    private const uint EPERM = 1;
    private const uint ENOSYS = 38;
    private const uint TIOCSTI = 0x5412;
    private const uint TIOCLINUX = 0x541C;
    private const uint CLONE_NEWUSER = 0x10000000;

    /// <summary>The system call numbers of one architecture (asm/unistd_64.h, asm/unistd_32.h); null where it has no such call.</summary>
    private sealed record SyscallNumbers(
        uint Ioctl, uint CloneCall, uint Unshare, uint Clone3, uint Keyctl, uint AddKey, uint RequestKey, uint Bpf,
        uint PerfEventOpen, uint OpenByHandleAt, uint InitModule, uint FinitModule, uint DeleteModule,
        uint KexecLoad, uint? KexecFileLoad, uint Userfaultfd);

    private static readonly SyscallNumbers X86_64 = new(
        Ioctl: 16, CloneCall: 56, Unshare: 272, Clone3: 435, Keyctl: 250, AddKey: 248, RequestKey: 249, Bpf: 321,
        PerfEventOpen: 298, OpenByHandleAt: 304, InitModule: 175, FinitModule: 313, DeleteModule: 176,
        KexecLoad: 246, KexecFileLoad: 320, Userfaultfd: 323);

    private static readonly SyscallNumbers I386 = new(
        Ioctl: 54, CloneCall: 120, Unshare: 310, Clone3: 435, Keyctl: 288, AddKey: 286, RequestKey: 287, Bpf: 357,
        PerfEventOpen: 336, OpenByHandleAt: 342, InitModule: 128, FinitModule: 350, DeleteModule: 129,
        KexecLoad: 283, KexecFileLoad: null, Userfaultfd: 374);

    /// <summary>One rule: a system call, optionally only when one argument's low 32 bits match.</summary>
    private sealed record Rule(uint Syscall, uint Action, int Argument = -1, IReadOnlyList<uint>? EqualTo = null, uint AnyBitOf = 0);

    /// <summary>The compiled program (struct sock_filter[]), as bwrap reads it from its fd.</summary>
    /// <param name="allowUserNamespaces">the guest may create user namespaces of its own (<c>fim-unshare user</c>).</param>
    public static byte[] Build(bool allowUserNamespaces)
    {
        var p = new BpfProgram();
        var x86_64 = Block(Rules(X86_64, allowUserNamespaces), x32Guard: true);
        var i386 = Block(Rules(I386, allowUserNamespaces), x32Guard: false);

        p.LoadWord(seccomp_data_arch);
        // The x86-64 block follows the two tests; the i386 block follows it.
        p.JumpIfEqual(AUDIT_ARCH_X86_64, 2, 0);
        p.JumpIfEqual(AUDIT_ARCH_I386, 1 + x86_64.Count, 0);
        p.Return(SECCOMP_RET_KILL_PROCESS);
        x86_64.AppendTo(p);
        i386.AppendTo(p);
        return p.Emit();
    }

    private static List<Rule> Rules(SyscallNumbers n, bool allowUserNamespaces)
    {
        uint eperm = SECCOMP_RET_ERRNO | EPERM;
        var rules = new List<Rule>
        {
            new(n.Ioctl, eperm, Argument: 1, EqualTo: [TIOCSTI, TIOCLINUX]),
            new(n.Keyctl, eperm), new(n.AddKey, eperm), new(n.RequestKey, eperm),
            new(n.Bpf, eperm),
            new(n.PerfEventOpen, eperm),
            new(n.OpenByHandleAt, eperm),
            new(n.InitModule, eperm), new(n.FinitModule, eperm), new(n.DeleteModule, eperm),
            new(n.KexecLoad, eperm),
            new(n.Userfaultfd, eperm),
        };
        if (n.KexecFileLoad is { } kexecFile)
            rules.Add(new(kexecFile, eperm));
        if (!allowUserNamespaces)
        {
            rules.Add(new(n.CloneCall, eperm, Argument: 0, AnyBitOf: CLONE_NEWUSER));
            rules.Add(new(n.Unshare, eperm, Argument: 0, AnyBitOf: CLONE_NEWUSER));
            rules.Add(new(n.Clone3, SECCOMP_RET_ERRNO | ENOSYS));
        }
        return rules;
    }

    /// <summary>
    /// One architecture's part: load the call number, then per rule "not this call: skip my
    /// instructions", ending in allow. Each rule's instructions jump only inside the rule, so the
    /// 8-bit jump offsets never grow with the number of rules.
    /// </summary>
    private static Fragment Block(List<Rule> rules, bool x32Guard)
    {
        var f = new Fragment();
        f.Add(p => p.LoadWord(seccomp_data_nr));
        if (x32Guard)
        {
            f.Add(p => p.JumpIfAtLeast(__X32_SYSCALL_BIT, 0, 1));
            f.Add(p => p.Return(SECCOMP_RET_ERRNO | ENOSYS));
        }
        foreach (var rule in rules)
        {
            if (rule.Argument < 0)
            {
                f.Add(p => p.JumpIfEqual(rule.Syscall, 0, 1));
                f.Add(p => p.Return(rule.Action));
                continue;
            }
            // [nr?] [load arg] [test]... [allow] [action]: the call matched, so after its tests the
            // answer is final either way and the call number need not be reloaded.
            int tests = rule.EqualTo?.Count ?? 1;
            f.Add(p => p.JumpIfEqual(rule.Syscall, 0, 1 + tests + 2));
            f.Add(p => p.LoadWord(seccomp_data_args(rule.Argument)));
            for (int t = 0; t < tests; t++)
            {
                int toAction = tests - t;
                if (rule.EqualTo is { } values)
                {
                    uint value = values[t];
                    f.Add(p => p.JumpIfEqual(value, toAction, 0));
                }
                else
                {
                    f.Add(p => p.JumpIfAnySet(rule.AnyBitOf, toAction, 0));
                }
            }
            f.Add(p => p.Return(SECCOMP_RET_ALLOW));
            f.Add(p => p.Return(rule.Action));
        }
        f.Add(p => p.Return(SECCOMP_RET_ALLOW));
        return f;
    }

    /// <summary>Instructions recorded first and appended later, so a jump over a whole block knows its length.</summary>
    private sealed class Fragment
    {
        private readonly List<Action<BpfProgram>> _emit = [];

        public int Count => _emit.Count;

        public void Add(Action<BpfProgram> instruction) => _emit.Add(instruction);

        public void AppendTo(BpfProgram program) => _emit.ForEach(e => e(program));
    }
}
