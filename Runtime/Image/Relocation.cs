using System.Runtime.InteropServices;
using System.Text;
using FlatImage.Native;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Paths;

namespace FlatImage.Runtime.Image;

/// <summary>
/// Writing to a file that a process executes fails with ETXTBSY, and instances, configuration
/// writers and layer commits all need the image file writable while other instances run. So the
/// launcher never keeps running from the image: the first thing it does is copy its own ELF part,
/// once per build id, into the private runtime directory and re-execute from there, telling the
/// copy which image it serves. The image file itself is only ever opened, never executed for long.
/// </summary>
public static class Relocation
{
    /// <summary>
    /// Set only for the relocated copy. It is honoured only when the running executable is that
    /// copy, so setting it by hand cannot point an image's launcher at another file.
    /// </summary>
    public const string ImageVariable = "_FIM_IMAGE";

    /// <summary>The absolute path of the image this process serves, when it is already relocated.</summary>
    public static string? RelocatedImage(string runtimeRoot)
    {
        string? image = Environment.GetEnvironmentVariable(ImageVariable);
        if (string.IsNullOrEmpty(image))
            return null;
        string self = Environment.ProcessPath ?? "";
        return self == LauncherPath(runtimeRoot) ? image : null;
    }

    public static string LauncherPath(string runtimeRoot) => Path.Combine(runtimeRoot, "app", BuildInfo.BuildId, "flatimage");

    /// <summary>Copies the launcher out of <paramref name="imagePath"/> if needed and execs it; returns only on failure.</summary>
    public static Exception Reexec(string imagePath, string runtimeRoot, string[] args)
    {
        string launcher = LauncherPath(runtimeRoot);
        try
        {
            EnsureCopy(imagePath, launcher, runtimeRoot);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return e;
        }
        return Exec(launcher, [launcher, .. args], imagePath);
    }

    private static void EnsureCopy(string imagePath, string launcher, string runtimeRoot)
    {
        using var image = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read);
        long elfEnd = Native.Elf.ElfImage.GetEnd(image, RandomAccess.GetLength(image));
        // The app directory is below the verified private root, so a copy that exists with the
        // right size was written by us for this build id (the id names the launcher bytes).
        if (File.Exists(launcher) && new FileInfo(launcher).Length == elfEnd)
            return;
        string dir = RuntimeDirectory.CreateChild(runtimeRoot, "app", BuildInfo.BuildId);
        // Write under a unique name and rename: two first runs at once each install a whole copy.
        string temp = Path.Combine(dir, $".flatimage.{Environment.ProcessId}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
        };
        using (var output = new FileStream(temp, options))
        {
            var buffer = new byte[1 << 20];
            for (long offset = 0; offset < elfEnd;)
            {
                int n = RandomAccess.Read(image, buffer.AsSpan(0, (int)Math.Min(buffer.Length, elfEnd - offset)), offset);
                if (n <= 0)
                    throw new InvalidDataException($"'{imagePath}' is shorter than its launcher");
                output.Write(buffer, 0, n);
                offset += n;
            }
        }
        File.Move(temp, launcher, overwrite: true);
    }

    private static unsafe Exception Exec(string path, string[] argv, string imagePath)
    {
        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            if ((string)e.Key != ImageVariable)
                env.Add($"{e.Key}={e.Value}");
        env.Add($"{ImageVariable}={imagePath}");

        var handles = new List<IntPtr>();
        try
        {
            byte** nativeArgv = ToNative(argv, handles);
            byte** nativeEnv = ToNative(env, handles);
            byte* nativePath = (byte*)Marshal.StringToCoTaskMemUTF8(path);
            handles.Add((IntPtr)nativePath);
            Unistd.execve(nativePath, nativeArgv, nativeEnv);
            return ErrnoException.FromLastError("execve", path);
        }
        finally
        {
            foreach (var h in handles)
                Marshal.FreeCoTaskMem(h);
        }
    }

    private static unsafe byte** ToNative(IReadOnlyList<string> strings, List<IntPtr> handles)
    {
        var array = (byte**)Marshal.AllocCoTaskMem((strings.Count + 1) * sizeof(byte*));
        handles.Add((IntPtr)array);
        for (int i = 0; i < strings.Count; i++)
        {
            array[i] = (byte*)Marshal.StringToCoTaskMemUTF8(strings[i]);
            handles.Add((IntPtr)array[i]);
        }
        array[strings.Count] = null;
        return array;
    }
}
