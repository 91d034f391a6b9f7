using FlatImage.Native.Elf;
using Microsoft.Win32.SafeHandles;

namespace FlatImage.Runtime.Image;

/// <summary>
/// Where each part of an image file lies. Everything is found from the ELF headers at run time,
/// so the layout survives copying and renaming the file:
/// <code>
/// 0              launcher ELF
/// ConfigOffset   reserved configuration region: two slots (A/B), SlotSize bytes each
/// ToolsOffset    tools bundle: ToolsHeader + payload (absent in a bare launcher)
/// LayersOffset   layer 0 | layer 1 | ...
/// </code>
/// </summary>
public sealed record ImageLayout(long ElfEnd, long ConfigOffset, long FileLength)
{
    /// <summary>Page alignment keeps the region independent of the launcher's exact size.</summary>
    public const int Alignment = 4096;

    /// <summary>One configuration slot: header plus JSON (fim-env and fim-bind share this budget).</summary>
    public const int SlotSize = 512 * 1024;

    public const int SlotCount = 2;

    public const long ConfigSize = (long)SlotSize * SlotCount;

    public long ToolsOffset => ConfigOffset + ConfigSize;

    /// <summary>A bare launcher (straight out of the build) has no region yet; its configuration is the default.</summary>
    public bool HasConfigRegion => FileLength >= ToolsOffset;

    public long SlotOffset(int slot) => ConfigOffset + (long)slot * SlotSize;

    public static ImageLayout Read(SafeFileHandle file)
    {
        long length = RandomAccess.GetLength(file);
        long elfEnd = ElfImage.GetEnd(file, length);
        return new ImageLayout(elfEnd, AlignUp(elfEnd), length);
    }

    public static long AlignUp(long value) => (value + Alignment - 1) / Alignment * Alignment;
}
