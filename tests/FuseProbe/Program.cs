using System.Runtime.InteropServices;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Native.Tests.Fuse;

// Usage: FuseProbe <mountpoint>
// Mounts MemoryFileSystem.Sample(uid, gid) with fusermount3 (auto_unmount), prints
// "READY <dev> <connection-id> <watchdog-pid> <allow_other>" and serves until SIGTERM/SIGINT,
// then unmounts, prints "STOPPED" and exits 0. FIM_TEST_FUSE_FAULT injects handler faults.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: FuseProbe <mountpoint>");
    return 2;
}

var stop = new ManualResetEventSlim();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });

var fs = MemoryFileSystem.Sample(Unistd.geteuid(), Unistd.getegid());
var mount = FuseMount.Mount(new FuseMountOptions(args[0])
{
    FsName = "fimprobe",
    Subtype = "fimprobe",
    Method = FuseMountMethod.Fusermount,
});
var session = new FuseSession(mount.Device, fs, new FuseSessionOptions
{
    Name = "fimprobe",
    FaultInjector = FuseFaultInjection.FromEnvironment(),
});
session.WorkerFaulted += f => Console.Error.WriteLine($"fimprobe: worker {f.Worker} {f.Opcode}: {f.Exception.Message}");
session.Start();
if (!session.WaitForInit(TimeSpan.FromSeconds(10)))
{
    Console.Error.WriteLine("fimprobe: FUSE_INIT was not answered");
    return 1;
}
Console.WriteLine($"READY {mount.DeviceNumber} {mount.ConnectionId} {mount.Watchdog?.Pid ?? 0} {mount.AllowOther}");
Console.Out.Flush();

stop.Wait();
mount.Unmount();
session.Dispose();
mount.Dispose();
Console.WriteLine("STOPPED");
return 0;
