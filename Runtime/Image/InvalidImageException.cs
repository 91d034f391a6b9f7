namespace FlatImage.Runtime.Image;

/// <summary>The image file is not usable: not an ELF launcher, or a damaged region. The message names the file.</summary>
public sealed class InvalidImageException(string message) : Exception(message);
