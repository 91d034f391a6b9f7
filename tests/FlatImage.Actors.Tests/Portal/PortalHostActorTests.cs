using Akka.Actor;
using Akka.TestKit.Xunit2;
using FlatImage.Actors.Portal;
using FlatImage.Native.Interop;
using FlatImage.Runtime.Portal;
using Xunit.Abstractions;

namespace FlatImage.Actors.Tests.Portal;

/// <summary>The host side of the portal: one session actor per call; stopping the portal ends what its sessions run and removes the socket.</summary>
public sealed class PortalHostActorTests : TestKit, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fim-actor-portal-").FullName;

    public PortalHostActorTests(ITestOutputHelper output) : base("akka.loglevel = WARNING", output)
    {
    }

    public new void Dispose()
    {
        base.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Serves_calls_and_stopping_kills_running_commands_and_removes_the_socket()
    {
        string socket = Path.Combine(_dir, "socket");
        var portal = Sys.ActorOf(PortalHostActor.Props(PortalListener.Create(socket), Unistd.getuid(), "/usr/bin:/bin"), "portal");

        using (var quick = PortalConnection.Connect(socket))
        {
            quick.SendRequest(new PortalRequest(["sh", "-c", "exit 4"], [], "/", 0), []);
            quick.Receive(5000)!.Dispose();
            using var exited = quick.Receive(5000)!;
            Assert.Equal(4, exited.Number);
        }

        using var running = PortalConnection.Connect(socket);
        running.SendRequest(new PortalRequest(["sleep", "60"], [], "/", 0), []);
        using var started = running.Receive(5000)!;
        Assert.Equal(PortalFrameType.Started, started.Type);
        int pid = started.Number;

        Watch(portal);
        Sys.Stop(portal);
        ExpectTerminated(portal, TimeSpan.FromSeconds(10));
        AwaitCondition(() => !Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z", TimeSpan.FromSeconds(5));
        Assert.False(File.Exists(socket));
        // The caller learns that its command ended (killed) or that the portal went away; it is not left hanging.
        using var last = running.Receive(5000);
        Assert.True(last is null || (last.Type == PortalFrameType.Exited && last.Number == 128 + 9));
    }

    [Fact]
    public void Calls_beyond_the_session_limit_wait_for_a_running_one_to_end()
    {
        string socket = Path.Combine(_dir, "socket");
        var portal = Sys.ActorOf(PortalHostActor.Props(PortalListener.Create(socket), Unistd.getuid(), "/usr/bin:/bin", maxSessions: 2), "limited");
        string gate = Path.Combine(_dir, "gate");

        // Two calls hold both sessions until the gate file appears.
        var holding = Enumerable.Range(0, 2).Select(_ =>
        {
            var c = PortalConnection.Connect(socket);
            c.SendRequest(new PortalRequest(["sh", "-c", $"while [ ! -e {gate} ]; do sleep 0.05; done"], [], "/", 0), []);
            using var started = c.Receive(10_000)!;
            Assert.Equal(PortalFrameType.Started, started.Type);
            return c;
        }).ToList();

        // A third call is accepted by the kernel but not served: nothing comes back while both run.
        using var third = PortalConnection.Connect(socket);
        third.SendRequest(new PortalRequest(["sh", "-c", "exit 7"], [], "/", 0), []);
        Assert.Equal("timed out waiting for the peer", Assert.Throws<PortalProtocolException>(() => third.Receive(1500)).Message);

        // One ends: the waiting call runs to its end.
        File.WriteAllText(gate, "");
        using var thirdStarted = third.Receive(10_000)!;
        Assert.Equal(PortalFrameType.Started, thirdStarted.Type);
        using var thirdExited = third.Receive(10_000)!;
        Assert.Equal(PortalFrameType.Exited, thirdExited.Type);
        Assert.Equal(7, thirdExited.Number);
        holding.ForEach(c => c.Dispose());
        Watch(portal);
        Sys.Stop(portal);
        ExpectTerminated(portal, TimeSpan.FromSeconds(10));
    }
}
