using System.Net.Sockets;
using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;

namespace EventDaemon.Daemon.Tests.Control;

/// <summary>
/// The one-thread loop behind the control socket: clients that send nothing, read nothing or hold
/// a reload cannot delay anyone else, and the connections they hold are bounded and closed.
/// </summary>
public sealed class ControlServerLoopTests : IDisposable
{
    private static readonly TimeSpan ShortDeadline = TimeSpan.FromSeconds(1);

    private readonly TempDirectory _dir = new();
    private readonly FakeControlTarget _target = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void SilentClients_DoNotDelayStats_AndAreClosedWithATimeoutErrorAfterTheReadDeadline()
    {
        using ControlServer server = ControlServer.Start(_dir.Socket, _target, readDeadline: ShortDeadline);
        var silent = new List<Socket>();
        try
        {
            for (int i = 0; i < 30; i++)
            {
                silent.Add(RawClient.Connect(server.SocketPath));
            }

            // Each of these would have waited behind the silent ones on the old two-worker server.
            for (int i = 0; i < 5; i++)
            {
                string stats = RawClient.Command(server.SocketPath, "stats");
                Assert.True(stats == SampleFamilies.BasicText, $"stats #{i} beside 30 silent clients replied:\n{stats}");
            }

            // RawClient.ReadToEnd blocks until the server closes; its own 30 s receive timeout bounds a failure.
            foreach (Socket socket in silent)
            {
                string reply = RawClient.ReadToEnd(socket);
                Assert.True(reply == "error: no command received within 1 s (try help)\n", $"a silent client got: '{reply}'");
            }
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void FullTable_DropsTheOldestSilentConnectionsFirst_AndKeepsServing()
    {
        // A read deadline far longer than the test: only the table bound can close the silent ones.
        using ControlServer server = ControlServer.Start(_dir.Socket, _target, readDeadline: TimeSpan.FromMinutes(5));
        const int Extra = 10;
        var silent = new List<Socket>();
        try
        {
            for (int i = 0; i < ControlServer.MaxConnections + Extra; i++)
            {
                silent.Add(RawClient.Connect(server.SocketPath));

                if (i % 16 == 15)
                {
                    Assert.True(RawClient.Command(server.SocketPath, "health") == "ok\n", $"health after {i + 1} silent clients");
                }
            }

            Assert.True(RawClient.Command(server.SocketPath, "stats") == SampleFamilies.BasicText, "stats with the table full of silent clients");

            // The first ones were dropped without a word to make room; wait for their EOF.
            for (int i = 0; i < Extra; i++)
            {
                string reply = RawClient.ReadToEnd(silent[i]);
                Assert.True(reply.Length == 0, $"the dropped silent client #{i} got '{reply}' instead of a plain close");
            }

            // The newest are still open: a command sent now is answered.
            Socket newest = silent[^1];
            newest.Send("health\n"u8.ToArray());
            newest.Shutdown(SocketShutdown.Send);
            Assert.True(RawClient.ReadToEnd(newest) == "ok\n", "the newest silent client was dropped before older ones");
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public void SlowReaderOfALargeReply_IsClosedAtTheWriteDeadline_WhileOthersAreServed()
    {
        // Far more than a Unix socket's buffers hold, so the reply waits on the reader.
        string large = new('x', 16 << 20);
        _target.InfoText = () => large;
        using ControlServer server = ControlServer.Start(_dir.Socket, _target, writeDeadline: ShortDeadline);

        using Socket reader = RawClient.Connect(server.SocketPath);
        reader.Send("info\n"u8.ToArray());
        Assert.True(RawClient.Command(server.SocketPath, "health") == "ok\n", "a client not reading its reply blocked health");

        // Reads only once the server has given up, so what is left to read is what it sent in time.
        Assert.True(RawClient.WaitForServerClose(reader, RawClient.Deadline), "the server never closed a client that did not read its reply");
        string partial = RawClient.ReadToEndAllowingReset(reader);
        Assert.True(partial.Length < large.Length + 1, $"the slow reader got the whole {large.Length + 1}-byte reply; the write deadline never fired");
        Assert.True(RawClient.Command(server.SocketPath, "stats") == SampleFamilies.BasicText, "stats after a slow reader was cut off");
    }

    [Fact]
    public void ReloadThatTakesLong_DoesNotDelayOtherCommands_AndItsReplyArrivesWhenDone()
    {
        using var release = new ManualResetEventSlim(false);
        _target.ReloadReply = () =>
        {
            release.Wait(RawClient.Deadline);
            return new ControlReply(true, "ok: reloaded");
        };
        using ControlServer server = ControlServer.Start(_dir.Socket, _target);

        using Socket reloading = RawClient.Connect(server.SocketPath);
        reloading.Send("reload\n"u8.ToArray());
        reloading.Shutdown(SocketShutdown.Send);
        Eventually.True(() => _target.Reloads == 1, () => "the reload never reached the target");

        Assert.True(RawClient.Command(server.SocketPath, "stats") == SampleFamilies.BasicText, "stats while a reload runs");
        Assert.True(RawClient.Command(server.SocketPath, "health") == "ok\n", "health while a reload runs");

        release.Set();
        Assert.True(RawClient.ReadToEnd(reloading) == "ok: reloaded\n", "the reload's reply did not arrive once it finished");
    }

    [Fact]
    public void Dispose_WhileAReplyIsBeingWritten_FinishesIt()
    {
        string large = new('y', 1 << 20);
        _target.InfoText = () => large;
        ControlServer server = ControlServer.Start(_dir.Socket, _target);
        using Socket reader = RawClient.Connect(server.SocketPath);
        reader.Send("info\n"u8.ToArray());

        // The reply has started (its first bytes are here) and, at 1 MiB, cannot fit the socket
        // buffers: Dispose must keep writing while the reader takes the rest.
        byte[] first = new byte[1];
        Assert.True(reader.Receive(first) == 1, "the reply never started");
        Task<string> read = Task.Run(() => RawClient.ReadToEnd(reader));
        server.Dispose();

        Assert.True(read.Wait(RawClient.Deadline), "the reader never saw the end of the reply");
        string whole = (char)first[0] + read.Result;
        Assert.True(whole == large + "\n", $"the reply in flight at Dispose arrived with {whole.Length} of {large.Length + 1} bytes");
    }
}
