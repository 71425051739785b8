using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.Client;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// Acknowledgements against the real binary (PROTOCOL.md §3, SPEC §7), without a journal (an ack
/// then means "in the ring"): an acked client's totals equal what it sent, accepted and rejected
/// apart; after a kill and a restart the client resends what was not acked and every frame
/// arrives; a JSON client that half-closes sees the close only once its events are taken.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class AcknowledgementTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void AnAckedClient_GetsAcksTotallingEveryFrame_AcceptedAndRejectedApart()
    {
        const int Good = 5000;
        const int Bad = 50;
        using DaemonProcess daemon = Start();
        using EventClient client = EventClient.ConnectTcp("127.0.0.1", daemon.Layout.Port("in"), new EventClientOptions { RequestAcks = true });
        for (int i = 0; i < Good; i++)
        {
            Send(client, i);
            if (i % (Good / Bad) == 0)
            {
                client.SendEncodedFrame(NaNFrame());
            }
        }

        // Half-close, then acks until the daemon's close: it closes only after the last ack.
        client.Complete();
        Assert.True(client.FramesAccepted == Good && client.FramesRejected == Bad,
            $"acks settled {client.FramesAccepted} accepted and {client.FramesRejected} rejected; {Good} and {Bad} were sent");
        Assert.True(client.UnacknowledgedFrames == 0, $"{client.UnacknowledgedFrames} frames unsettled when the daemon closed");

        string outPath = daemon.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(outPath) >= Good, () => $"{SinkFile.CountLines(outPath)} of {Good} lines written");
        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("acks_sent_total", ("source", "in")) >= 1, $"acks were read but not counted; {stats.Describe("acks_sent_total")}");
    }

    [Fact]
    public void AfterAKillAndRestart_TheClientResendsWhatWasNotAcked_AndEveryFrameArrives()
    {
        const int Before = 1000;
        const int WhileStopped = 500;
        const int After = 500;
        using DaemonProcess daemon = Start();
        string outPath = daemon.Layout.File("out.jsonl");
        using EventClient client = EventClient.ConnectTcp("127.0.0.1", daemon.Layout.Port("in"), new EventClientOptions { RequestAcks = true });
        for (int i = 0; i < Before; i++)
        {
            Send(client, i);
        }

        Assert.True(client.WaitForAcks(Wait), $"{client.UnacknowledgedFrames} of {Before} frames not acked within {Wait.TotalSeconds:0} s");

        // Without a journal an ack means "in the ring": let the sink take them before the kill.
        Eventually.True(() => SinkFile.CountLines(outPath) >= Before, () => $"{SinkFile.CountLines(outPath)} of {Before} lines written");

        // Stopped, the daemon reads nothing: these frames stay in the kernel's buffers, unacked, and die with it.
        daemon.Signal(PosixSignal.SigStop);
        Eventually.True(() => IsStopped(daemon.Pid), () => $"eventd (pid {daemon.Pid}) did not stop on SIGSTOP");
        for (int i = Before; i < Before + WhileStopped; i++)
        {
            Send(client, i);
        }

        client.Flush();
        Assert.True(client.UnacknowledgedFrames == WhileStopped, $"{client.UnacknowledgedFrames} frames unacked, {WhileStopped} sent to a stopped daemon");
        daemon.KillAndRestart();

        int resent = client.Reconnect();
        Assert.True(resent == WhileStopped, $"{resent} frames resent after the reconnect, {WhileStopped} were never acked");
        for (int i = Before + WhileStopped; i < Before + WhileStopped + After; i++)
        {
            Send(client, i);
        }

        Assert.True(client.WaitForAcks(Wait), $"{client.UnacknowledgedFrames} frames not acked after the restart");
        int total = Before + WhileStopped + After;
        Eventually.True(() => SinkFile.CountLines(outPath) >= total, () => $"{SinkFile.CountLines(outPath)} of at least {total} lines written");

        var seen = new HashSet<int>();
        foreach (string line in SinkFile.TextLines(outPath))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            seen.Add((int)json.RootElement.GetProperty("value").GetDouble());
        }

        List<int> missing = Enumerable.Range(0, total).Where(i => !seen.Contains(i)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} frames never arrived, first {string.Join(", ", missing.Take(10))}");
    }

    [Fact]
    public void AJsonClientThatHalfCloses_SeesTheCloseOnlyOnceItsEventsAreTaken()
    {
        const int Lines = 2000;
        using DaemonProcess daemon = Start(format: "json");
        for (int round = 0; round < 5; round++)
        {
            double before = daemon.Stats().Value("events_received_total", ("source", "in"));

            // What `nc -q 0` does: write everything, shutdown(SHUT_WR), wait for the daemon's close.
            using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
            TestSockets.SendAll(socket, string.Concat(Enumerable.Range(0, Lines).Select(i => $"{{\"type\":\"t\",\"value\":{i}}}\n")));
            socket.Shutdown(SocketShutdown.Send);
            Assert.True(TestSockets.WaitClosedByPeer(socket, Wait), "the daemon did not close a half-closed JSON connection");

            double taken = daemon.Stats().Value("events_received_total", ("source", "in")) - before;
            Assert.True(taken == Lines, $"round {round}: the client saw the close with {taken} of its {Lines} events taken");
        }

        string outPath = daemon.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(outPath) >= 5 * Lines, () => $"{SinkFile.CountLines(outPath)} of {5 * Lines} lines in the sink");
    }

    private DaemonProcess Start(string format = "binary") => DaemonProcess.Start(output, l => $"""
        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "{format}"

        [sinks.out]
        type = "file"
        inputs = ["in"]
        path = "{l.File("out.jsonl")}"
        """);

    /// <summary>The process's state in /proc is T (stopped): the signal is delivered, not just sent.</summary>
    private static bool IsStopped(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('T');
    }

    private static void Send(EventClient client, int i)
    {
        byte[] type = "t"u8.ToArray();
        client.SendFrame(new FrameEvent { Type = type, Value = i });
    }

    /// <summary>A frame the daemon skips for its content (<c>bad_value</c>); the writer refuses NaN, so it is patched in.</summary>
    private static byte[] NaNFrame()
    {
        var e = new FrameEvent { Type = Encoding.UTF8.GetBytes("t"), Value = 1 };
        byte[] frame = new byte[BinaryFrameWriter.GetFrameLength(in e)];
        BinaryFrameWriter.Write(frame, in e);
        BinaryPrimitives.WriteDoubleLittleEndian(frame.AsSpan(16), double.NaN);
        return frame;
    }
}
