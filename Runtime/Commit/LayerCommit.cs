using System.Text;
using System.Text.RegularExpressions;
using FlatImage.Native;
using FlatImage.Native.Io;
using FlatImage.Runtime.Image;
using FlatImage.Runtime.Instances;
using FlatImage.Runtime.Layers;
using FlatImage.Runtime.Sandbox;

namespace FlatImage.Runtime.Commit;

/// <summary>
/// <c>fim-layer commit</c> (docs/cli.md §13.5): turns the writable layer into a read-only layer and
/// empties it.
///
/// Overview: the user's changes exist in exactly one place until the new layer is durable, so
/// the order is fixed: build into <c>&lt;data&gt;/tmp/layer.tmp</c> and fsync it; place it (each
/// placement is itself crash-safe: the image append leaves a truncated tail readers ignore,
/// moves end in a rename or link and a directory fsync); only then delete the upper directory's
/// entries. A crash before the last step leaves the upper data in place (and at worst the same
/// changes twice, once in the new layer and once above it, which shows the same tree). The
/// whole commit holds the data directory's lock exclusively, so no run's overlay is writing the
/// upper directory meanwhile.
/// </summary>
public static partial class LayerCommit
{
    /// <summary>Test hook: during <c>commit binary</c>, append half the layer, create this marker file and stall.</summary>
    public const string StallVariable = "FIM_TEST_STALL_COMMIT_APPEND";

    /// <summary>Test hook: write half of <c>&lt;data&gt;/tmp/layer.tmp</c> (flushed to disk), create this marker file and stall.</summary>
    public const string StallWriteVariable = "FIM_TEST_STALL_COMMIT_WRITE";

    /// <summary>Test hook: once the layer is placed, before the writable layer is cleared, create this marker file and stall.</summary>
    public const string StallClearVariable = "FIM_TEST_STALL_COMMIT_CLEAR";

    /// <summary>Where an old writable layer goes (<c>&lt;data&gt;/tmp/erasing-…</c>) while it is deleted.</summary>
    private const string ErasingPrefix = "erasing";

    /// <summary>Runs the commit; returns the path the layer was saved to (null for <see cref="CommitMode.Binary"/>).</summary>
    /// <param name="placed">called once the layer is placed, before the writable layer is cleared (for the confirmation line).</param>
    /// <param name="notRemoved">
    /// receives each path of the old writable layer that could not be deleted (files another owner
    /// left), and whether it is a directory. The writable layer is empty all the same: those stay
    /// set aside under <c>&lt;data&gt;/tmp</c>, outside every view, and the next commit tries again.
    /// </param>
    /// <exception cref="CommitException">refused (a run is active, the destination exists, too many layers).</exception>
    public static string? Run(string imagePath, CommitMode mode, string? destination, LayerWriterOptions options,
        IProgress<LayerProgress>? progress, Action<string?>? placed, CancellationToken ct,
        ICollection<(string Path, bool IsDirectory)>? notRemoved = null)
    {
        string data = DataDirectory.CreateForRun(imagePath);
        using var held = DataDirectoryLock.TryAcquireExclusive(data)
            ?? throw new CommitException($"Another instance is running on {data}");

        string? target = mode switch
        {
            CommitMode.Layer => NextManagedLayer(DataDirectory.LayersOf(data)),
            CommitMode.File => Path.GetFullPath(destination ?? throw new ArgumentNullException(nameof(destination))),
            _ => null,
        };
        if (mode == CommitMode.File && Path.Exists(target))
            throw new CommitException("Destination file already exists");

        // The data directory's start profile (a FIM_PROFILE=1 run's record) orders the new layer,
        // unless the caller chose one (or none: an empty profile).
        string profile = Path.Combine(data, StartProfile.FileName);
        if (options.StartProfile is null && File.Exists(profile))
        {
            try
            {
                options = options with { StartProfile = StartProfile.Load(profile) };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CommitException($"Failed to read start profile '{profile}'");
            }
        }

        string upper = Path.Combine(data, "root");
        Directory.CreateDirectory(upper);
        string tmpDir = Path.Combine(data, "tmp");
        Directory.CreateDirectory(tmpDir);
        string temp = Path.Combine(tmpDir, "layer.tmp");
        File.Delete(temp); // left by an interrupted commit: its upper data is still in place
        // Old writable layers whose layers were placed, that an earlier commit could not delete
        // (and warned about): another try, quietly. What still stays never blocks this commit,
        // because every commit sets its old writable layer aside under a name of its own.
        foreach (string leftover in Directory.EnumerateDirectories(tmpDir, ErasingPrefix + "*"))
            TreeRemover.RemoveWithoutCrossingMounts(leftover);
        string erasing = Path.Combine(tmpDir, $"{ErasingPrefix}-{DateTime.UtcNow:yyyyMMddHHmmssfff}-{Environment.ProcessId}");

        // The caller's passwd and group entries are the run's, not the image's: out before scanning.
        GuestAccounts.RemoveCallerEntries(upper, () => LayerStack.Resolve(imagePath, _ => { }), data);
        var skipped = new List<string>();
        var host = HostIdentity.Current();
        LayerSourceNode root;
        using (var lower = new LowerDirectories(imagePath))
        {
            try
            {
                root = OverlayUpperScanner.Scan(upper, host.Uid, host.Gid, skipped, ct, lower.Find, lower.HasEntries);
            }
            catch (NotSupportedException e)
            {
                throw new CommitException($"Cannot commit the writable layer: {e.Message}");
            }
        }
        try
        {
            using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20);
            LayerWriter.WriteTo(root, stream, options, StallHalfway(progress, stream), ct);
            stream.Flush(flushToDisk: true);
        }
        catch (IOException e)
        {
            // Disk full, most likely: nothing was placed and the writable layer is untouched; the
            // partial layer goes at once so the space it took is the user's again.
            File.Delete(temp);
            throw new CommitException($"Failed to write layer '{temp}': {Reason(e)}");
        }
        RawPathFiles.FsyncDirectory(tmpDir);

        try
        {
            switch (mode)
            {
                case CommitMode.Binary:
                    LayerAppender.Append(imagePath, temp, ct, Environment.GetEnvironmentVariable(StallVariable));
                    File.Delete(temp);
                    break;
                case CommitMode.Layer:
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Move(temp, target!, overwrite: false);
                    RawPathFiles.FsyncDirectory(Path.GetDirectoryName(target)!);
                    break;
                case CommitMode.File:
                    PlaceWithoutReplacing(temp, target!);
                    break;
            }
        }
        catch (IOException e)
        {
            File.Delete(temp);
            throw new CommitException(mode == CommitMode.Binary
                ? $"Failed to append layer to '{imagePath}': {Reason(e)}"
                : $"Failed to write layer '{target}': {Reason(e)}");
        }
        if (Environment.GetEnvironmentVariable(StallClearVariable) is { Length: > 0 } clearMarker)
            Stall(clearMarker);
        placed?.Invoke(target);

        ClearUpper(upper, erasing, skipped, notRemoved);
        return target;
    }

    /// <summary>The OS's reason without .NET's path suffix (the message names the path itself).</summary>
    private static string Reason(IOException e) =>
        e.HResult is > 0 and < 4096 ? ErrnoException.StrError(e.HResult) : e.Message;

    /// <summary>The progress reporter, or with <see cref="StallWriteVariable"/> set one that stalls halfway (see there).</summary>
    private static IProgress<LayerProgress>? StallHalfway(IProgress<LayerProgress>? progress, FileStream stream) =>
        Environment.GetEnvironmentVariable(StallWriteVariable) is { Length: > 0 } marker
            ? new StallingProgress(progress, stream, marker)
            : progress;

    private static void Stall(string marker)
    {
        File.WriteAllText(marker, "stalled");
        Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>Reports are made on the thread that writes the layer, right after each block: flushing there is safe.</summary>
    private sealed class StallingProgress(IProgress<LayerProgress>? inner, FileStream stream, string marker) : IProgress<LayerProgress>
    {
        public void Report(LayerProgress value)
        {
            inner?.Report(value);
            if (value.BytesDone * 2 < value.BytesTotal)
                return;
            stream.Flush(flushToDisk: true);
            Stall(marker);
        }
    }

    /// <summary><c>layer-NNN.layer</c> one above the highest existing one; the first is <c>layer-000.layer</c>.</summary>
    public static string NextManagedLayer(string layersDir)
    {
        int highest = -1;
        if (Directory.Exists(layersDir))
            foreach (string file in Directory.EnumerateFileSystemEntries(layersDir))
                if (ManagedLayerName().Match(Path.GetFileName(file)) is { Success: true } m
                    && int.TryParse(m.Groups[1].ValueSpan, out int n))
                    highest = Math.Max(highest, n);
        if (highest >= 999)
            throw new CommitException("Maximum number of layers exceeded");
        return Path.Combine(layersDir, $"layer-{highest + 1:D3}.layer");
    }

    [GeneratedRegex(@"^layer-([0-9]+)\.layer$")]
    private static partial Regex ManagedLayerName();

    /// <summary>
    /// Places the layer at the user's path without ever showing a partial layer under that name,
    /// and without replacing a file that appeared there meanwhile. On the same filesystem that is
    /// link(2) (fails with EEXIST rather than replace) and an unlink of the temporary name. The
    /// destination may be on another filesystem (link fails with EXDEV), so then the layer is
    /// copied next to the destination first, fsynced, and then linked into place the same way.
    /// </summary>
    private static void PlaceWithoutReplacing(string source, string destination)
    {
        string dir = Path.GetDirectoryName(destination)!;
        if (LinkNoReplace(source, destination))
        {
            RawPathFiles.FsyncDirectory(dir);
            File.Delete(source);
            return;
        }
        string staging = Path.Combine(dir, $".{Path.GetFileName(destination)}.tmp-{Environment.ProcessId}");
        try
        {
            using (var input = new FileStream(source, FileMode.Open, FileAccess.Read))
            using (var output = new FileStream(staging, FileMode.CreateNew, FileAccess.Write))
            {
                input.CopyTo(output, 1 << 20);
                output.Flush(flushToDisk: true);
            }
            if (!LinkNoReplace(staging, destination))
            {
                try
                {
                    File.Move(staging, destination, overwrite: false); // a filesystem without hard links
                }
                catch (IOException) when (Path.Exists(destination))
                {
                    throw new CommitException("Destination file already exists");
                }
            }
            RawPathFiles.FsyncDirectory(dir);
        }
        finally
        {
            File.Delete(staging);
        }
        File.Delete(source);
    }

    /// <summary>True once linked; false where hard links cannot be made (another filesystem, no support).</summary>
    private static bool LinkNoReplace(string existing, string destination)
    {
        int rc = RawPathFiles.TryLink(existing, destination);
        if (rc == Native.Interop.Errno.EEXIST)
            throw new CommitException("Destination file already exists");
        return rc == 0;
    }

    /// <summary>
    /// Empties the writable layer once its contents are safe in the new layer. Deleting entry by
    /// entry could stop halfway (a crash) with an opaque directory still in place but only part of
    /// its files left: it would hide the committed copies below it. So the whole directory is
    /// renamed away and replaced by an empty one in one step, then deleted (a leftover is deleted
    /// by the next commit). Entries the layer could not hold (sockets, directories we cannot read)
    /// must stay, so with any of those the entries are deleted one by one instead.
    /// Mounts are never crossed.
    /// </summary>
    private static void ClearUpper(string upper, string erasing, List<string> skipped, ICollection<(string, bool)>? notRemoved)
    {
        if (skipped.Count == 0)
        {
            var mode = File.GetUnixFileMode(upper);
            Directory.Move(upper, erasing);
            Directory.CreateDirectory(upper, mode);
            RawPathFiles.FsyncDirectory(Path.GetDirectoryName(upper)!);
            RawPathFiles.FsyncDirectory(Path.GetDirectoryName(erasing)!);
            TreeRemover.RemoveWithoutCrossingMounts(erasing, notRemoved);
            return;
        }
        var keep = new HashSet<string>(skipped.Select(s => s.TrimEnd('/')), StringComparer.Ordinal);
        foreach (string entry in Directory.EnumerateFileSystemEntries(upper).ToList())
        {
            if (keep.Any(k => k == entry || k.StartsWith(entry + "/", StringComparison.Ordinal)))
                continue;
            if (FileStatus.TryLstat(Encoding.UTF8.GetBytes(entry), out var st) == 0 && st.FileType == Native.Interop.Stat.S_IFDIR)
            {
                TreeRemover.RemoveWithoutCrossingMounts(entry, notRemoved);
                continue;
            }
            try
            {
                File.Delete(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                notRemoved?.Add((entry, false));
            }
        }
        RawPathFiles.FsyncDirectory(upper);
    }
}
