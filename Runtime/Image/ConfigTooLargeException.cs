namespace FlatImage.Runtime.Image;

/// <summary>A configuration section is over its size limit; nothing was written.</summary>
public sealed class ConfigTooLargeException(string message = "Not enough space to fit json data") : Exception(message);
