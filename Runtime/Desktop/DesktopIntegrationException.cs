namespace FlatImage.Runtime.Desktop;

/// <summary>A desktop integration step failed; the message is the one line the user sees. Nothing was written.</summary>
public sealed class DesktopIntegrationException(string message) : Exception(message);
