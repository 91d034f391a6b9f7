using System.Buffers.Binary;

namespace FlatImage.Native.Elf;

/// <summary>
/// Finds where the launcher's ELF ends inside an image file, from the ELF headers alone
/// (elf(5)): the furthest byte covered by the section header table, any section, or any
/// program segment. Everything after that belongs to the image (configuration, tools, layers).
/// Every field is untrusted: offsets and counts are checked against the file length.
/// </summary>
public static class ElfImage
{
    private const int Elf64HeaderSize = 64;
    private const int Elf64ProgramHeaderSize = 56;
    private const int Elf64SectionHeaderSize = 64;
    private const uint SHT_NOBITS = 8; // .bss: occupies no file bytes
    private const int MaxHeaders = 1 << 16;

    /// <summary>Returns the byte length of the ELF file at the start of <paramref name="file"/>.</summary>
    /// <exception cref="InvalidDataException">not a little-endian x86-64 ELF64, or headers out of range.</exception>
    public static long GetEnd(Microsoft.Win32.SafeHandles.SafeFileHandle file, long fileLength)
    {
        Span<byte> eh = stackalloc byte[Elf64HeaderSize];
        if (fileLength < Elf64HeaderSize || RandomAccess.Read(file, eh, 0) != Elf64HeaderSize)
            throw new InvalidDataException("file is too short to be an ELF executable");
        // e_ident: 0x7f 'E' 'L' 'F', class 2 (64-bit), data 1 (little endian).
        if (eh[0] != 0x7f || eh[1] != (byte)'E' || eh[2] != (byte)'L' || eh[3] != (byte)'F')
            throw new InvalidDataException("not an ELF executable");
        if (eh[4] != 2 || eh[5] != 1)
            throw new InvalidDataException("not a little-endian 64-bit ELF executable");

        // Offsets beyond 2^63 become negative here, which CheckedRangeEnd refuses like any other
        // offset outside the file (a checked cast would throw OverflowException instead).
        long phoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(eh[0x20..]);
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(eh[0x28..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(eh[0x36..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(eh[0x38..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(eh[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(eh[0x3C..]);

        long end = Elf64HeaderSize;
        if (phnum > 0)
        {
            if (phentsize < Elf64ProgramHeaderSize || phnum > MaxHeaders)
                throw new InvalidDataException("ELF program headers are malformed");
            end = Math.Max(end, CheckedRangeEnd(phoff, (long)phentsize * phnum, fileLength, "program header table"));
            byte[] table = ReadTable(file, phoff, phentsize * phnum);
            for (int i = 0; i < phnum; i++)
            {
                ReadOnlySpan<byte> ph = table.AsSpan(i * phentsize, Elf64ProgramHeaderSize);
                long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(ph[0x08..]);
                long filesz = (long)BinaryPrimitives.ReadUInt64LittleEndian(ph[0x20..]);
                if (filesz > 0)
                    end = Math.Max(end, CheckedRangeEnd(offset, filesz, fileLength, "program segment"));
            }
        }
        if (shnum > 0)
        {
            if (shentsize < Elf64SectionHeaderSize || shnum > MaxHeaders)
                throw new InvalidDataException("ELF section headers are malformed");
            end = Math.Max(end, CheckedRangeEnd(shoff, (long)shentsize * shnum, fileLength, "section header table"));
            byte[] table = ReadTable(file, shoff, shentsize * shnum);
            for (int i = 0; i < shnum; i++)
            {
                ReadOnlySpan<byte> sh = table.AsSpan(i * shentsize, Elf64SectionHeaderSize);
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(sh[0x04..]);
                long offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]);
                long size = (long)BinaryPrimitives.ReadUInt64LittleEndian(sh[0x20..]);
                if (type != SHT_NOBITS && size > 0)
                    end = Math.Max(end, CheckedRangeEnd(offset, size, fileLength, "section"));
            }
        }
        return end;
    }

    /// <summary>
    /// Finds the PT_INTERP segment (the dynamic loader's path, NUL-terminated) of an ELF64 file held
    /// in memory. False when the bytes are not a little-endian ELF64 file or have no interpreter;
    /// a segment that lies outside <paramref name="elf"/> counts as none.
    /// </summary>
    public static bool TryFindInterpreter(ReadOnlySpan<byte> elf, out int offset, out int length)
    {
        const uint PT_INTERP = 3;
        offset = length = 0;
        if (elf.Length < Elf64HeaderSize || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 || elf[5] != 1)
            return false;
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf[0x20..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x36..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x38..]);
        if (phentsize < Elf64ProgramHeaderSize || phoff > (ulong)elf.Length || (ulong)phentsize * (ulong)phnum > (ulong)elf.Length - phoff)
            return false;
        for (int i = 0; i < phnum; i++)
        {
            var ph = elf.Slice((int)phoff + i * phentsize, Elf64ProgramHeaderSize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PT_INTERP)
                continue;
            ulong at = BinaryPrimitives.ReadUInt64LittleEndian(ph[0x08..]);
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(ph[0x20..]);
            if (at > (ulong)elf.Length || size == 0 || size > (ulong)elf.Length - at)
                return false;
            (offset, length) = ((int)at, (int)size);
            return true;
        }
        return false;
    }

    private static long CheckedRangeEnd(long offset, long size, long fileLength, string what)
    {
        if (offset < 0 || size < 0 || offset > fileLength || size > fileLength - offset)
            throw new InvalidDataException($"ELF {what} lies outside the file");
        return offset + size;
    }

    private static byte[] ReadTable(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, int length)
    {
        var table = new byte[length];
        if (RandomAccess.Read(file, table, offset) != length)
            throw new InvalidDataException("ELF header table is truncated");
        return table;
    }
}
