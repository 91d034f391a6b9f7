// Ours: Tmds.LibC 0.5.0 has no seccomp or classic BPF definitions.
namespace FlatImage.Native.Interop;

/// <summary>
/// Mirror of &lt;linux/seccomp.h&gt;, the classic BPF opcodes of &lt;linux/bpf_common.h&gt; /
/// &lt;linux/filter.h&gt; and the audit architecture numbers of &lt;linux/audit.h&gt; that a seccomp
/// filter needs (seccomp(2), Documentation/userspace-api/seccomp_filter.rst). Constants only: the
/// launcher never installs a filter itself, bubblewrap does (<c>--seccomp FD</c>).
/// </summary>
public static class Seccomp
{
    // struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
    public const uint seccomp_data_nr = 0;
    public const uint seccomp_data_arch = 4;
    /// <summary>Offset of args[i]; on a little-endian machine its low 32 bits come first.</summary>
    public static uint seccomp_data_args(int i) => 16 + 8 * (uint)i;

    /// <summary>sizeof(struct sock_filter): u16 code, u8 jt, u8 jf, u32 k.</summary>
    public const int sock_filter_size = 8;
    /// <summary>BPF_MAXINSNS: the kernel refuses longer programs.</summary>
    public const int BPF_MAXINSNS = 4096;

    // Instruction classes and modes (bpf_common.h).
    public const ushort BPF_LD = 0x00;
    public const ushort BPF_ALU = 0x04;
    public const ushort BPF_JMP = 0x05;
    public const ushort BPF_RET = 0x06;
    public const ushort BPF_W = 0x00;
    public const ushort BPF_ABS = 0x20;
    public const ushort BPF_AND = 0x50;
    public const ushort BPF_JA = 0x00;
    public const ushort BPF_JEQ = 0x10;
    public const ushort BPF_JGE = 0x30;
    public const ushort BPF_JSET = 0x40;
    public const ushort BPF_K = 0x00;

    // Filter return values (seccomp.h). The low 16 bits of SECCOMP_RET_ERRNO carry the errno.
    public const uint SECCOMP_RET_KILL_PROCESS = 0x80000000;
    public const uint SECCOMP_RET_ERRNO = 0x00050000;
    public const uint SECCOMP_RET_ALLOW = 0x7fff0000;

    // audit.h: EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE, and EM_386 | __AUDIT_ARCH_LE.
    public const uint AUDIT_ARCH_X86_64 = 0xC000003E;
    public const uint AUDIT_ARCH_I386 = 0x40000003;

    /// <summary>asm/unistd.h: x32 system calls are x86-64 numbers with this bit set.</summary>
    public const uint __X32_SYSCALL_BIT = 0x40000000;
}
