using FlatImage.Runtime.Config;
using FlatImage.Runtime.Layers;

namespace FlatImage.Runtime.Image;

/// <summary>
/// The read-only layers of one run, bottom to top (docs/cli.md §13.1): the layers embedded in the
/// image, then each <c>FIM_LAYERS</c> entry, then the data directory's <c>layers/</c>. A file in
/// those two whose header is not a layer's is skipped with a warning (it is not a layer at all);
/// a path that does not exist is ignored. A damaged embedded layer is an error
/// (<see cref="EmbeddedLayers"/>); so is a layer whose header is valid but whose body is not,
/// when it is opened to be served (<see cref="Filesystems.MergedFileSystem"/>).
/// </summary>
public static class LayerStack
{
    /// <exception cref="InvalidLayerException">an embedded layer before the recorded end of the chain is damaged.</exception>
    public static IReadOnlyList<LayerLocation> Resolve(string imagePath, Action<string> warn)
    {
        var stack = new List<LayerLocation>();
        using (var file = File.OpenHandle(imagePath, FileMode.Open, FileAccess.Read))
        {
            var embedded = EmbeddedLayers.Read(file, ImageLayout.Read(file), imagePath);
            stack.AddRange(embedded.Layers.Select(l => new LayerLocation(imagePath, l.Offset, l.Size)));
        }

        string? extra = Environment.GetEnvironmentVariable("FIM_LAYERS");
        if (!string.IsNullOrEmpty(extra))
            foreach (string entry in VariableExpander.Expand(extra).Split(':', StringSplitOptions.RemoveEmptyEntries))
                AddPath(stack, Path.GetFullPath(entry), warn);

        AddPath(stack, DataDirectory.LayersOf(DataDirectory.For(imagePath)), warn);
        return stack;
    }

    /// <summary>
    /// Opens every layer of <paramref name="stack"/> as a run would (checksums, metadata, directory
    /// tree) and closes it again; the first that fails is thrown with its place in the stack.
    /// </summary>
    /// <exception cref="InvalidLayerException">a layer is damaged.</exception>
    public static void Verify(IReadOnlyList<LayerLocation> stack)
    {
        // Only metadata is read: a block cache of one byte keeps no block.
        var options = new LayerReaderOptions { CacheBytes = 1 };
        for (int i = 0; i < stack.Count; i++)
        {
            try
            {
                using var reader = LayerReader.Open(stack[i].Path, stack[i].Offset, stack[i].Size, options);
            }
            catch (InvalidLayerException e)
            {
                throw e.At(i, stack[i].Offset);
            }
        }
    }

    /// <summary>A file is one layer; a directory gives its regular files (symlinks to files count), not recursively, in byte order.</summary>
    private static void AddPath(List<LayerLocation> stack, string path, Action<string> warn)
    {
        if (Directory.Exists(path))
        {
            var files = Directory.EnumerateFiles(path)
                .Where(f => File.Exists(f))
                .OrderBy(f => f, StringComparer.Ordinal);
            foreach (string f in files)
                AddFile(stack, f, warn);
        }
        else if (File.Exists(path))
        {
            AddFile(stack, path, warn);
        }
    }

    private static void AddFile(List<LayerLocation> stack, string path, Action<string> warn)
    {
        if (TryReadStandalone(path) is { } size)
            stack.Add(new LayerLocation(path, 0, size));
        else
            warn($"Skipping invalid layer '{path}'");
    }

    /// <summary>The size of the layer in a standalone layer file, or null when its header is not valid or the file is short.</summary>
    public static long? TryReadStandalone(string path)
    {
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            Span<byte> head = stackalloc byte[LayerHeader.Size];
            long length = RandomAccess.GetLength(file);
            if (RandomAccess.Read(file, head, 0) != LayerHeader.Size || !LayerHeader.TryRead(head, out var header) || header.TotalSize > length)
                return null;
            return header.TotalSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>One read-only layer of the stack: its file and where in it the layer lies.</summary>
public sealed record LayerLocation(string Path, long Offset, long Size);
