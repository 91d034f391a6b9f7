using System.Buffers.Binary;
using System.Collections.Concurrent;
using FlatImage.Native.Interop;
using FlatImage.Native.Io;
using FlatImage.Runtime.Portal;
using Xunit;

namespace FlatImage.Runtime.Tests.Portal;

/// <summary>
/// The server side of the portal over real unix sockets and real processes: what a client sends
/// (well-formed or not) and what comes back on the passed fds and in frames.
/// </summary>
public sealed unsafe class PortalSessionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-portal-").FullName;
    private readonly PortalListener _listener;
    private readonly BlockingCollection<PortalSessionOutcome> _outcomes = new();

    public PortalSessionTests()
    {
        _listener = PortalListener.Create(Path.Combine(_dir, "socket"));
        new Thread(() =>
        {
            while (_listener.Accept() is { } connection)
            {
                var session = new PortalSession(connection, Unistd.getuid(), "/usr/bin:/bin");
                new Thread(() => _outcomes.Add(session.Run())) { IsBackground = true }.Start();
            }
        }) { IsBackground = true }.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private PortalConnection Connect() => PortalConnection.Connect(_listener.Path);

    private PortalSessionOutcome NextOutcome()
    {
        Assert.True(_outcomes.TryTake(out var outcome, TimeSpan.FromSeconds(10)), "no session ended");
        return outcome;
    }

    private static (SafeFd Read, SafeFd Write) Pipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Unistd.pipe2(fds, Fcntl.O_CLOEXEC));
        return (new SafeFd(fds[0]), new SafeFd(fds[1]));
    }

    private static string ReadAll(SafeFd fd)
    {
        using var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd.DangerousGetHandle(), ownsHandle: false), FileAccess.Read);
        return new StreamReader(stream).ReadToEnd();
    }

    [Fact]
    public void Runs_the_command_on_the_callers_fds_and_reports_its_status()
    {
        var (inRead, inWrite) = Pipe();
        var (outRead, outWrite) = Pipe();
        var (errRead, errWrite) = Pipe();
        using var client = Connect();
        client.SendRequest(new PortalRequest(["sh", "-c", "tr a-z A-Z; echo to-err >&2; exit 3"], ["PATH=/usr/bin:/bin"], "/", 7), [inRead.Fd, outWrite.Fd, errWrite.Fd]);
        // Only the process holds the other ends now: its exit closes them.
        inRead.Dispose();
        outWrite.Dispose();
        errWrite.Dispose();
        using (var stdin = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(inWrite.DangerousGetHandle(), ownsHandle: false), FileAccess.Write))
            stdin.Write("through\n"u8);
        inWrite.Dispose();
        Assert.Equal("THROUGH\n", ReadAll(outRead));
        Assert.Equal("to-err\n", ReadAll(errRead));
        using (var started = client.Receive(5000)!)
            Assert.Equal(PortalFrameType.Started, started.Type);
        using var exited = client.Receive(5000)!;
        Assert.Equal(PortalFrameType.Exited, exited.Type);
        Assert.Equal(3, exited.Number);
        Assert.Null(client.Receive(5000));
        Assert.Equal(PortalSessionOutcome.Completed, NextOutcome());
    }

    [Fact]
    public void A_program_that_does_not_exist_gets_the_spec_message_and_status_1()
    {
        using var client = Connect();
        client.SendRequest(new PortalRequest(["no-such-program-anywhere"], [], "/", 0), []);
        using var failed = client.Receive(5000)!;
        Assert.Equal(PortalFrameType.Failed, failed.Type);
        Assert.Equal(1, failed.Number);
        Assert.Equal(PortalProtocol.NotFoundMessage, failed.Text);
        Assert.Equal(PortalSessionOutcome.NotStarted, NextOutcome());
    }

    [Fact]
    public void Forwarded_signals_reach_the_process_and_death_by_signal_is_128_plus_n()
    {
        using var client = Connect();
        client.SendRequest(new PortalRequest(["sh", "-c", "trap 'exit 9' USR1; while :; do sleep 0.05; done"], [], "/", 0), []);
        using (var started = client.Receive(5000)!)
            Assert.Equal(PortalFrameType.Started, started.Type);
        Thread.Sleep(200);
        client.SendSignal(10);
        using (var exited = client.Receive(10000)!)
            Assert.Equal(9, exited.Number);

        using var second = Connect();
        second.SendRequest(new PortalRequest(["sleep", "60"], [], "/", 0), []);
        second.Receive(5000)!.Dispose();
        second.SendSignal(15);
        using var killed = second.Receive(10000)!;
        Assert.Equal(128 + 15, killed.Number);
    }

    [Fact]
    public void A_caller_that_goes_away_takes_its_process_with_it()
    {
        var client = Connect();
        client.SendRequest(new PortalRequest(["sleep", "60"], [], "/", 0), []);
        using var started = client.Receive(5000)!;
        int pid = started.Number;
        Assert.True(Directory.Exists($"/proc/{pid}"));
        client.Dispose();
        Assert.Equal(PortalSessionOutcome.Completed, NextOutcome());
        Assert.False(Directory.Exists($"/proc/{pid}"));
    }

    public static TheoryData<string> Violations => new() { "signal first", "fewer fds than announced", "more fds than announced", "bad length", "unknown type", "garbage payload", "silence" };

    [Theory]
    [MemberData(nameof(Violations))]
    public void A_protocol_violation_closes_that_connection_only(string violation)
    {
        var (read, write) = Pipe();
        using var bad = Connect();
        byte[] Frame(byte type, byte[] payload)
        {
            byte[] f = new byte[5 + payload.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(f, (uint)(1 + payload.Length));
            f[4] = type;
            payload.CopyTo(f, 5);
            return f;
        }
        var request = new PortalRequest(["true"], [], "/", 7);
        var socket = bad.Socket;
        switch (violation)
        {
            case "signal first": bad.SendSignal(2); break;
            case "fewer fds than announced": UnixSocket.Send(socket, Frame(1, request.Encode()), [read.Fd, write.Fd]); break;
            case "more fds than announced": UnixSocket.Send(socket, Frame(1, (request with { StdioMask = 1 }).Encode()), [read.Fd, write.Fd]); break;
            case "bad length": UnixSocket.Send(socket, [0xff, 0xff, 0xff, 0xff, 1]); break;
            case "unknown type": UnixSocket.Send(socket, Frame(77, [])); break;
            case "garbage payload": UnixSocket.Send(socket, Frame(1, [1, 2, 3])); break;
            case "silence": break;
        }
        // Closed without an answer (the silent one after the 5 s rendezvous).
        Assert.Null(bad.Receive(10_000));
        Assert.Equal(PortalSessionOutcome.Dropped, NextOutcome());

        // The portal still serves the next caller.
        using var good = Connect();
        good.SendRequest(new PortalRequest(["true"], [], "/", 0), []);
        good.Receive(5000)!.Dispose();
        using var exited = good.Receive(5000)!;
        Assert.Equal(0, exited.Number);
    }
}
