using System.Diagnostics;
using FlatImage.Runtime.Desktop;

namespace FlatImage.Runtime.Tests.Desktop;

public sealed class DesktopFilesTests
{
    [Fact]
    public void An_image_path_with_quoting_characters_gives_a_valid_entry()
    {
        const string image = "/home/u/my \"odd\" $dir `x` 100% \\ here/app.flatimage";
        var files = new DesktopFiles("/unused", "Odd App");
        string text = files.EntryText(image, ["Utility"]);
        // Exec quoting (\" \` \$ \\ inside double quotes, %% for %), then the value's own escape of '\'.
        Assert.Contains("Exec=\"/home/u/my \\\\\"odd\\\\\" \\\\$dir \\\\`x\\\\` 100%% \\\\\\\\ here/app.flatimage\" %F\n", text);
        Assert.Contains("TryExec=/home/u/my \"odd\" $dir `x` 100% \\\\ here/app.flatimage\n", text);
        Assert.Equal("application/flatimage_Odd_App", files.MimeType);

        string dir = Directory.CreateTempSubdirectory("fim-desktop-entry-").FullName;
        try
        {
            string entry = Path.Combine(dir, "flatimage-Odd App.desktop");
            File.WriteAllText(entry, text);
            var validate = Process.Start(new ProcessStartInfo("desktop-file-validate", [entry]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            string output = validate.StandardOutput.ReadToEnd() + validate.StandardError.ReadToEnd();
            validate.WaitForExit();
            Assert.True(validate.ExitCode == 0 && output == "", output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Scaling_keeps_the_aspect_ratio_on_a_transparent_square()
    {
        // 4x2: left half opaque red, right half opaque blue.
        byte[] rgba = new byte[4 * 2 * 4];
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 4; x++)
            {
                int i = (y * 4 + x) * 4;
                (rgba[i], rgba[i + 2], rgba[i + 3]) = x < 2 ? ((byte)255, (byte)0, (byte)255) : ((byte)0, (byte)255, (byte)255);
            }
        var square = new IconRaster(4, 2, rgba).Square(8);
        byte[] png = square.EncodePng();
        using var decoded = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgba32>(png);
        Assert.Equal((8, 8), (decoded.Width, decoded.Height));
        Assert.Equal(0, decoded[0, 0].A);          // padding above
        Assert.Equal(0, decoded[7, 7].A);          // padding below
        Assert.Equal(new SixLabors.ImageSharp.PixelFormats.Rgba32(255, 0, 0, 255), decoded[1, 3]);
        Assert.Equal(new SixLabors.ImageSharp.PixelFormats.Rgba32(0, 0, 255, 255), decoded[6, 4]);
    }
}
