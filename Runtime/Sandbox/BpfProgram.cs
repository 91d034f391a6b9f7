using System.Buffers.Binary;
using static FlatImage.Native.Interop.Seccomp;

namespace FlatImage.Runtime.Sandbox;

/// <summary>
/// A classic BPF program (struct sock_filter[], linux/filter.h) as seccomp runs it: the accumulator
/// A, loads from struct seccomp_data, forward jumps only. Jumps are relative and 8 bits wide, so
/// the builder hands out each instruction's index and <see cref="Emit"/> checks every offset.
/// </summary>
public sealed class BpfProgram
{
    private readonly List<(ushort Code, byte Jt, byte Jf, uint K)> _instructions = [];

    public int Count => _instructions.Count;

    /// <summary>A = the 32-bit word at <paramref name="offset"/> of struct seccomp_data.</summary>
    public void LoadWord(uint offset) => Add(BPF_LD | BPF_W | BPF_ABS, 0, 0, offset);

    /// <summary>Return <paramref name="action"/> (a SECCOMP_RET_* value).</summary>
    public void Return(uint action) => Add(BPF_RET | BPF_K, 0, 0, action);

    /// <summary>If A == k skip <paramref name="skipIfTrue"/> instructions, else <paramref name="skipIfFalse"/>.</summary>
    public void JumpIfEqual(uint k, int skipIfTrue, int skipIfFalse) => Add(BPF_JMP | BPF_JEQ | BPF_K, Offset(skipIfTrue), Offset(skipIfFalse), k);

    /// <summary>If A &gt;= k (unsigned) skip <paramref name="skipIfTrue"/>, else <paramref name="skipIfFalse"/>.</summary>
    public void JumpIfAtLeast(uint k, int skipIfTrue, int skipIfFalse) => Add(BPF_JMP | BPF_JGE | BPF_K, Offset(skipIfTrue), Offset(skipIfFalse), k);

    /// <summary>If (A &amp; k) != 0 skip <paramref name="skipIfTrue"/>, else <paramref name="skipIfFalse"/>.</summary>
    public void JumpIfAnySet(uint k, int skipIfTrue, int skipIfFalse) => Add(BPF_JMP | BPF_JSET | BPF_K, Offset(skipIfTrue), Offset(skipIfFalse), k);

    /// <summary>
    /// The program in the kernel's layout (8 bytes per instruction, native byte order), checked
    /// the way the kernel's verifier would: not empty, not too long, every jump lands inside, the
    /// last instruction returns.
    /// </summary>
    public byte[] Emit()
    {
        if (_instructions.Count == 0 || _instructions.Count > BPF_MAXINSNS)
            throw new InvalidOperationException($"a seccomp program has 1 to {BPF_MAXINSNS} instructions, not {_instructions.Count}");
        if ((_instructions[^1].Code & 0x07) != BPF_RET)
            throw new InvalidOperationException("a seccomp program must end with a return");
        var bytes = new byte[_instructions.Count * sock_filter_size];
        for (int i = 0; i < _instructions.Count; i++)
        {
            var (code, jt, jf, k) = _instructions[i];
            if ((code & 0x07) == BPF_JMP && (i + 1 + Math.Max(jt, jf) >= _instructions.Count))
                throw new InvalidOperationException($"jump at {i} leaves the program");
            var slot = bytes.AsSpan(i * sock_filter_size, sock_filter_size);
            BinaryPrimitives.WriteUInt16LittleEndian(slot, code);
            slot[2] = jt;
            slot[3] = jf;
            BinaryPrimitives.WriteUInt32LittleEndian(slot[4..], k);
        }
        return bytes;
    }

    private void Add(int code, byte jt, byte jf, uint k) => _instructions.Add(((ushort)code, jt, jf, k));

    private static byte Offset(int skip) => skip is >= 0 and <= byte.MaxValue
        ? (byte)skip
        : throw new InvalidOperationException($"a BPF jump of {skip} instructions does not fit in 8 bits");
}
