namespace FlatImage.Runtime.Sandbox;

/// <summary>The host cannot run the sandbox (a kernel or security setting forbids it); the message says which setting to change.</summary>
public sealed class SandboxUnavailableException(string message) : Exception(message);
