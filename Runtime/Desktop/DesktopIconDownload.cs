using FlatImage.Native.Spawn;
using FlatImage.Runtime.Tools;

namespace FlatImage.Runtime.Desktop;

/// <summary>
/// An icon named by an <c>http://</c> or <c>https://</c> URL (docs/cli.md §11.1): fetched with the host's
/// wget into a private temporary directory, then read and checked like a local icon. The server is
/// untrusted: the download is cut off past the icon size limit or after a minute.
/// </summary>
public static class DesktopIconDownload
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public static bool IsUrl(string source) =>
        source.StartsWith("http://", StringComparison.Ordinal) || source.StartsWith("https://", StringComparison.Ordinal);

    public static (DesktopIconType Type, byte[] Bytes) Load(string url)
    {
        // The extension is the text after the URL's last '.', as FlatImage takes it.
        int dot = url.LastIndexOf('.');
        string extension = dot < 0 ? "" : url[dot..];
        if (dot < 0 || extension.Contains('/'))
            throw new DesktopIntegrationException("Could not get icon file extension from url");
        if (DesktopIconTypes.FromExtension(extension) is null)
            throw new DesktopIntegrationException($"Icon extension '{DesktopIntegration.Printable(extension)}' is not supported");
        string wget = HostTools.Find("wget", bundledBin: null) ?? throw new DesktopIntegrationException("Could not find 'wget' to download the icon");

        var scratch = Directory.CreateTempSubdirectory("fim-desktop-icon-");
        try
        {
            string target = Path.Combine(scratch.FullName, "icon" + extension);
            using var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite);
            using var child = ChildProcess.Start(wget, [wget, "-q", "-O", target, "--", url], ChildProcess.EnvironmentWith(), [(devNull, 0), (devNull, 1), (devNull, 2)]);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int? status;
            while ((status = child.WaitForExit(TimeSpan.FromMilliseconds(100))) is null)
            {
                long size = File.Exists(target) ? new FileInfo(target).Length : 0;
                if (size >= DesktopIntegration.MaxIconBytes || clock.Elapsed > Deadline)
                {
                    child.Stop(TimeSpan.Zero);
                    throw size >= DesktopIntegration.MaxIconBytes
                        ? new DesktopIntegrationException($"File is too large, '{size}' bytes")
                        : new DesktopIntegrationException($"wget timed out after {Deadline.TotalSeconds:0} s for URL: {url}");
                }
            }
            int code = ExitStatus.ToShellStatus(status.Value);
            if (code != 0)
                throw new DesktopIntegrationException($"wget failed with exit code: {code} for URL: {url}");
            return DesktopIcon.Load(target, shownAs: url);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }
}
