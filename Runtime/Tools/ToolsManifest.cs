using System.Text;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Tools;

/// <summary>One bundled tool as <c>fim-version deps</c> lists it.</summary>
public sealed record BundledTool(string Name, string Version, string License, string Source, string Sha);

/// <summary>
/// The list of tools in an image's tools bundle: <c>deps.tsv</c> at the bundle's root, one line
/// per tool (name, version, SPDX licence, source URL, sha256, separated by tabs), written by
/// scripts/collect-tools.sh when the bundle is made. Read straight from the bundle's layer, so
/// <c>fim-version deps</c> extracts nothing and runs no tool. The image may come from anyone:
/// the file's size, every field's characters and the checksum's form are checked before a line
/// is believed.
/// </summary>
public static class ToolsManifest
{
    public const string FileName = "deps.tsv";

    private const int MaxBytes = 64 << 10;
    private const int MaxFieldLength = 512;

    /// <summary>The tools of <paramref name="imagePath"/>'s bundle; empty for an image without one (or one made before the list existed).</summary>
    /// <exception cref="InvalidImageException">the bundle or its list is damaged.</exception>
    public static IReadOnlyList<BundledTool> Read(string imagePath)
    {
        using var image = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read);
        var layout = ImageLayout.Read(image);
        if (layout.FileLength <= layout.ToolsOffset)
            return [];
        if (!ToolsHeader.TryReadAt(image, layout, out var header))
            throw new InvalidImageException($"Invalid image '{imagePath}': the tools bundle header is damaged");
        if (header.PayloadSize == 0)
            return [];

        byte[] content;
        try
        {
            using var reader = LayerReader.Open(imagePath, layout.ToolsOffset + ToolsHeader.Size, header.PayloadSize);
            if (reader.Lookup(LayerReader.RootInode, Encoding.UTF8.GetBytes(FileName), out ulong ino) != 0)
                return [];
            if (!reader.TryGetInode(ino, out var inode) || inode.Type != LayerFileType.Regular || inode.Size > MaxBytes)
                throw Damaged(imagePath);
            content = new byte[inode.Size];
            if (reader.Read(ino, 0, content, out int read) != 0 || read != content.Length)
                throw Damaged(imagePath);
        }
        catch (InvalidLayerException)
        {
            throw new InvalidImageException($"Invalid image '{imagePath}': the tools bundle is not a valid layer");
        }
        return Parse(content) ?? throw Damaged(imagePath);
    }

    /// <summary>The lines of a list, or null when any line is malformed.</summary>
    public static IReadOnlyList<BundledTool>? Parse(ReadOnlySpan<byte> content)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(content);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        var tools = new List<BundledTool>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] f = line.Split('\t');
            if (f.Length != 5 || f.Any(v => v.Length is 0 or > MaxFieldLength || v.Any(char.IsControl)))
                return null;
            if (f[4].Length != 64 || !f[4].All(char.IsAsciiHexDigitLower))
                return null;
            tools.Add(new BundledTool(f[0], f[1], f[2], f[3], f[4]));
        }
        return tools;
    }

    private static InvalidImageException Damaged(string imagePath) =>
        new($"Invalid image '{imagePath}': the tools bundle's list of tools is damaged");
}
