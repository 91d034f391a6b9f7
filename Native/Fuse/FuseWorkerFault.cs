namespace FlatImage.Native.Fuse;

/// <summary>
/// A worker of a <see cref="FuseSession"/> hit an exception. When <see cref="WorkerStopped"/> is
/// false, it was a handler (the request got EIO and the worker kept serving); when true, the
/// worker's device loop itself failed and the worker is gone until
/// <see cref="FuseSession.RestartWorker"/> (the connection fd and buffers are kept).
/// </summary>
public sealed record FuseWorkerFault(int Worker, fuse_opcode? Opcode, Exception Exception, bool WorkerStopped);
