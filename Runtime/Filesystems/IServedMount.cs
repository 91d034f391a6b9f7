using FlatImage.Native.Fuse;

namespace FlatImage.Runtime.Filesystems;

/// <summary>
/// A FUSE mount served by this process (<see cref="LayerMount"/>, <see cref="CasefoldMount"/>):
/// what its owning actor needs to watch it and take it down.
/// </summary>
public interface IServedMount
{
    string Mountpoint { get; }

    /// <summary>The kernel connection and its worker threads.</summary>
    FuseSession Session { get; }

    /// <summary>Ends the session and unmounts (lazily as a last resort); never throws, says what went wrong through <paramref name="log"/>.</summary>
    void Stop(Action<string> log);
}
