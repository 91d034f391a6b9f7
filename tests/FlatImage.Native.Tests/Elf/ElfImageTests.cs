using FlatImage.Native.Elf;

namespace FlatImage.Native.Tests.Elf;

public sealed class ElfImageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-elf-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Finds_the_end_of_a_plain_executable_at_its_file_length()
    {
        // A linked executable ends with its section header table: nothing follows the ELF.
        using var file = File.OpenHandle("/bin/true");
        Assert.Equal(new FileInfo("/bin/true").Length, ElfImage.GetEnd(file, RandomAccess.GetLength(file)));
    }

    [Fact]
    public void Ignores_bytes_appended_after_the_executable()
    {
        string path = Path.Combine(_dir, "image");
        File.Copy("/bin/true", path);
        long original = new FileInfo(path).Length;
        File.AppendAllText(path, new string('x', 10_000));
        using var file = File.OpenHandle(path);
        Assert.Equal(original, ElfImage.GetEnd(file, RandomAccess.GetLength(file)));
    }

    [Fact]
    public void Rejects_a_file_that_is_not_elf()
    {
        string path = Path.Combine(_dir, "text");
        File.WriteAllText(path, new string('#', 200));
        using var file = File.OpenHandle(path);
        Assert.Throws<InvalidDataException>(() => ElfImage.GetEnd(file, RandomAccess.GetLength(file)));
    }

    [Theory]
    [InlineData(0x28)] // e_shoff
    [InlineData(0x20)] // e_phoff
    public void Rejects_header_tables_that_point_outside_the_file(int field)
    {
        string path = Path.Combine(_dir, "bad");
        var bytes = File.ReadAllBytes("/bin/true");
        BitConverter.TryWriteBytes(bytes.AsSpan(field), (ulong)bytes.Length + 4096);
        File.WriteAllBytes(path, bytes);
        using var file = File.OpenHandle(path);
        Assert.Throws<InvalidDataException>(() => ElfImage.GetEnd(file, RandomAccess.GetLength(file)));
    }

    [Fact]
    public void Rejects_a_truncated_executable()
    {
        string path = Path.Combine(_dir, "short");
        var bytes = File.ReadAllBytes("/bin/true");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        using var file = File.OpenHandle(path);
        Assert.Throws<InvalidDataException>(() => ElfImage.GetEnd(file, RandomAccess.GetLength(file)));
    }

    [Fact]
    public void Finds_the_loader_path_of_a_dynamic_executable_and_none_in_a_static_one()
    {
        byte[] dynamic = File.ReadAllBytes("/bin/true");
        Assert.True(ElfImage.TryFindInterpreter(dynamic, out int offset, out int length));
        Assert.Equal("/lib64/ld-linux-x86-64.so.2\0", System.Text.Encoding.ASCII.GetString(dynamic, offset, length));
        Assert.False(ElfImage.TryFindInterpreter(File.ReadAllBytes("/bin/busybox"), out _, out _)); // busybox-static
    }

    [Fact]
    public void A_truncated_or_foreign_file_has_no_loader_path()
    {
        byte[] dynamic = File.ReadAllBytes("/bin/true");
        Assert.True(ElfImage.TryFindInterpreter(dynamic, out int offset, out _));
        Assert.False(ElfImage.TryFindInterpreter(dynamic.AsSpan(0, offset + 4), out _, out _)); // the path runs past the end
        Assert.False(ElfImage.TryFindInterpreter(dynamic.AsSpan(0, 100), out _, out _));       // the program headers do
        Assert.False(ElfImage.TryFindInterpreter("#!/bin/sh\necho hi\n"u8, out _, out _));
    }
}
