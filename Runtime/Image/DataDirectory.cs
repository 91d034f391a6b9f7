namespace FlatImage.Runtime.Image;

/// <summary>The data directory of an image (cli.md §2): <c>$FIM_DIR_DATA</c>, else <c>&lt;dir of IMG&gt;/.&lt;NAME&gt;.data</c>.</summary>
public static class DataDirectory
{
    public static string For(string imagePath)
    {
        string? configured = Environment.GetEnvironmentVariable("FIM_DIR_DATA");
        if (!string.IsNullOrEmpty(configured))
            return Path.GetFullPath(configured);
        return Path.Combine(Path.GetDirectoryName(imagePath)!, $".{Path.GetFileName(imagePath)}.data");
    }

    public static string LayersOf(string dataDirectory) => Path.Combine(dataDirectory, "layers");
}
