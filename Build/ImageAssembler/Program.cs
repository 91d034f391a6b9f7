using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Tools;

// Usage: ImageAssembler LAUNCHER TOOLS_DIR OUT_IMAGE [RECIPE_REMOTE]
// Writes OUT_IMAGE = launcher ELF + configuration region + tools bundle (no layers), under a
// temporary name first so an interrupted build never leaves a half image under the final name.
// The configuration is the default one, plus RECIPE_REMOTE as the preset recipe repository
// (what `fim-remote show` prints in a fresh image) when it is given and not empty.
if (args.Length is not (3 or 4))
{
    Console.Error.WriteLine("usage: ImageAssembler LAUNCHER TOOLS_DIR OUT_IMAGE [RECIPE_REMOTE]");
    return 2;
}
string launcher = args[0], tools = args[1], output = Path.GetFullPath(args[2]);
string? remote = args.Length == 4 && args[3].Length > 0 ? args[3] : null;
string temp = Path.Combine(Path.GetDirectoryName(output)!, $".{Path.GetFileName(output)}.{Environment.ProcessId}.tmp");
try
{
    File.Copy(launcher, temp, overwrite: true);
    File.SetUnixFileMode(temp, (UnixFileMode)0b111_101_101);
    // 'F', 'I', 1 at offsets 8-10 of the ELF identification (EI_ABIVERSION and padding, which
    // neither the kernel nor the dynamic loader reads for an executable): the content magic of the
    // shared-mime-info type application/flatimage, so a desktop recognises an image by its bytes.
    using (var elf = File.OpenHandle(temp, FileMode.Open, FileAccess.ReadWrite))
        RandomAccess.Write(elf, "FI\u0001"u8, 8);
    // Built once, run everywhere: the strongest compression the layer format offers, in its
    // largest blocks (the bundle is extracted whole, never read at random like a run's layers).
    var header = ToolsBundle.Write(temp, tools, new LayerWriterOptions { CompressionLevel = 9, BlockSize = 16 * 1024 * 1024 });
    if (remote is not null)
        FlatImage.Runtime.Image.ConfigStore.Update(temp, c => c with { RemoteUrl = remote });
    File.Move(temp, output, overwrite: true);
    Console.WriteLine($"{output}: {new FileInfo(output).Length} bytes (launcher {new FileInfo(launcher).Length}, tools bundle {header.PayloadSize})");
    return 0;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException or FlatImage.Runtime.Image.InvalidImageException or InvalidLayerException or FlatImage.Runtime.Image.ConfigTooLargeException)
{
    File.Delete(temp);
    Console.Error.WriteLine($"ImageAssembler: {e.Message}");
    return 1;
}
