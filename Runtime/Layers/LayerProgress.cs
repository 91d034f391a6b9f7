namespace FlatImage.Runtime.Layers;

/// <summary>How far a layer build is: unique file contents and their bytes written so far.</summary>
public readonly record struct LayerProgress(long FilesDone, long FilesTotal, long BytesDone, long BytesTotal);
