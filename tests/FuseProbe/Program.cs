using System.Runtime.InteropServices;
using FlatImage.Native.Fuse;
using FlatImage.Native.Interop;
using FlatImage.Native.Tests.Fuse;

// Usage: FuseProbe <mountpoint>
// Mounts MemoryFileSystem.Sample(uid, gid) with fusermount3 (auto_unmount), prints
// "READY <dev> <connection-id> <watchdog-pid> <allow_other> <cloned-workers>" and serves until SIGTERM/SIGINT,
// then unmounts, prints "STOPPED" and exits 0. FIM_TEST_FUSE_FAULT injects handler faults.
// As root, fusermount3 mounts too (with allow_other), and the readahead window is raised.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: FuseProbe <mountpoint>");
    return 2;
}

var stop = new ManualResetEventSlim();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });

// FIM_PROBE_SOURCE=<dir>: serve a copy of that tree instead of the sample (benchmarks).
var source = Environment.GetEnvironmentVariable("FIM_PROBE_SOURCE");
var fs = string.IsNullOrEmpty(source)
    ? MemoryFileSystem.Sample(Unistd.geteuid(), Unistd.getegid())
    : MemoryFileSystem.FromDirectory(source, Unistd.geteuid(), Unistd.getegid(),
        statelessOpen: Environment.GetEnvironmentVariable("FIM_PROBE_STATELESS_OPEN") == "1");
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
mount.TrySetReadAhead(1024);
Console.WriteLine($"READY {mount.DeviceNumber} {mount.ConnectionId} {mount.Watchdog?.Pid ?? 0} {mount.AllowOther} {session.ClonedWorkers}");
Console.Out.Flush();

stop.Wait();
mount.Unmount();
session.Dispose();
mount.Dispose();
Console.WriteLine("STOPPED");
return 0;
