using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;

namespace FlatImage.Runtime.Tests.Image;

public sealed class ConfigStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-config-").FullName;
    private readonly string _image;

    public ConfigStoreTests()
    {
        // Any ELF executable is a bare launcher: an image whose configuration is the default.
        _image = Path.Combine(_dir, "app.flatimage");
        File.Copy("/bin/true", _image);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Bare_launcher_reads_as_the_default_configuration()
    {
        Assert.Equal(ImageConfig.Default, ConfigStore.Read(_image));
    }

    [Fact]
    public void First_write_adds_the_region_after_the_aligned_elf_end()
    {
        long elf = new FileInfo(_image).Length;
        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Home });
        Assert.Equal(ImageLayout.AlignUp(elf) + ImageLayout.ConfigSize, new FileInfo(_image).Length);
        Assert.Equal(Permissions.Home, ConfigStore.Read(_image).Permissions);
    }

    [Fact]
    public void Writes_alternate_between_the_slots()
    {
        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Home });
        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Network });
        var (a, b) = ReadSlots();
        Assert.True(a.IsValid && b.IsValid);
        Assert.Equal([1UL, 2UL], new[] { a.Sequence, b.Sequence }.Order());
        Assert.Equal(Permissions.Network, ConfigStore.Read(_image).Permissions);
    }

    [Fact]
    public void A_torn_write_leaves_the_previous_configuration()
    {
        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Home });
        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Audio });
        // Tear the newest slot as a crash half-way through its write would.
        int newest = ReadSlots().A.Sequence > ReadSlots().B.Sequence ? 0 : 1;
        Tear(newest);
        Assert.Equal(Permissions.Home, ConfigStore.Read(_image).Permissions);
        // The next write goes to the torn slot and wins.
        ConfigStore.Update(_image, c => c with { Permissions = c.Permissions | Permissions.Gpu });
        Assert.Equal(Permissions.Home | Permissions.Gpu, ConfigStore.Read(_image).Permissions);
    }

    [Fact]
    public void Both_slots_damaged_is_an_error_naming_the_file_until_a_set_replaces_it()
    {
        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Home });
        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Audio });
        Tear(0);
        Tear(1);
        var error = Assert.Throws<InvalidImageException>(() => ConfigStore.Read(_image));
        Assert.Contains(_image, error.Message);
        Assert.Throws<InvalidImageException>(() => ConfigStore.Update(_image, c => c with { Notify = true }));

        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Xorg }, replacesDamaged: true);
        Assert.Equal(Permissions.Xorg, ConfigStore.Read(_image).Permissions);
    }

    [Fact]
    public void Survives_copy_and_rename()
    {
        ConfigStore.Update(_image, c => c with { Environment = c.Environment.Add("A", "1") });
        string copy = Path.Combine(_dir, "copy.flatimage");
        File.Copy(_image, copy);
        string renamed = Path.Combine(_dir, "renamed");
        File.Move(copy, renamed);
        Assert.Equal("1", ConfigStore.Read(renamed).Environment["A"]);
    }

    [Fact]
    public void Concurrent_writers_lose_no_update()
    {
        ConfigStore.Update(_image, c => c);
        Parallel.For(0, 20, new ParallelOptions { MaxDegreeOfParallelism = 20 }, i =>
            ConfigStore.Update(_image, c => c with { Environment = c.Environment.Add($"K{i}", $"{i}") }));
        Assert.Equal(20, ConfigStore.Read(_image).Environment.Count);
    }

    [Fact]
    public void Oversized_section_fails_and_changes_nothing()
    {
        ConfigStore.Update(_image, c => c with { Permissions = Permissions.Home });
        byte[] before = File.ReadAllBytes(_image);
        Assert.Throws<ConfigTooLargeException>(() =>
            ConfigStore.Update(_image, c => c with { Boot = new BootCommand(new string('x', 9000), []) }));
        var remote = Assert.Throws<ConfigTooLargeException>(() =>
            ConfigStore.Update(_image, c => c with { RemoteUrl = new string('u', 5000) }));
        Assert.Equal("Not enough space to fit remote URL", remote.Message);
        Assert.Equal(before, File.ReadAllBytes(_image));
    }

    private (ConfigSlot.Contents A, ConfigSlot.Contents B) ReadSlots()
    {
        using var file = File.OpenHandle(_image);
        var layout = ImageLayout.Read(file);
        var buffer = new byte[ImageLayout.SlotSize];
        RandomAccess.Read(file, buffer, layout.SlotOffset(0));
        var a = ConfigSlot.Decode(buffer);
        RandomAccess.Read(file, buffer, layout.SlotOffset(1));
        return (a, ConfigSlot.Decode(buffer));
    }

    private void Tear(int slot)
    {
        using var file = File.OpenHandle(_image, FileMode.Open, FileAccess.ReadWrite);
        var layout = ImageLayout.Read(file);
        // Header of a newer write followed by the old bytes: the CRC cannot match.
        var torn = ConfigSlot.Encode(99, "{\"permissions\":[\"dev\",\"gpu\",\"home\",\"input\"]}"u8);
        RandomAccess.Write(file, torn.AsSpan(0, torn.Length / 2), layout.SlotOffset(slot));
    }
}
