using FlatImage.Runtime.Config;
using FlatImage.Runtime.Image;

namespace FlatImage.Cli.CommandLine;

/// <summary>What a command runs against: the image it serves and the process's output streams.</summary>
public sealed class CommandContext(string imagePath, TextWriter stdout, TextWriter stderr, string runtimeRoot = "", string launcherPath = "")
{
    public string ImagePath => imagePath;

    /// <summary>The private runtime directory (empty for commands that do not need it).</summary>
    public string RuntimeRoot => runtimeRoot;

    /// <summary>The launcher executable this process runs from (the relocated copy, normally).</summary>
    public string LauncherPath => launcherPath;
    public TextWriter Out => stdout;
    public TextWriter Error => stderr;

    public ImageConfig ReadConfig() => ConfigStore.Read(imagePath);

    /// <summary>Read-modify-write under the image lock.</summary>
    public ImageConfig UpdateConfig(Func<ImageConfig, ImageConfig> change) => ConfigStore.Update(imagePath, change);

    /// <summary>For <c>set</c>/<c>clear</c>: these replace state, so they may also replace a damaged region.</summary>
    public ImageConfig ReplaceConfig(Func<ImageConfig, ImageConfig> change) => ConfigStore.Update(imagePath, change, replacesDamaged: true);

    /// <summary>A diagnostic line <c>W::&lt;cmd&gt;::&lt;message&gt;</c> on stderr.</summary>
    public void Warn(string command, string message) => stderr.WriteLine($"W::{command}::{message}");
}
