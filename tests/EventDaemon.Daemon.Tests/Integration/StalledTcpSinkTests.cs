using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// Issue 12, finding 1: a tcp sink whose peer is alive but reads nothing for 30 s, with a sender
/// pushing flat out. The stall is backpressure: no reconnect, no duplicate, the sender pushed back,
/// <c>health</c> names the sink, and the log has the start and the end of the stall.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class StalledTcpSinkTests(ITestOutputHelper output)
{
    /// <summary>How long the peer reads nothing: what the issue's operator tried.</summary>
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(30);

    private const int EventsPerChunk = 100;

    [Fact]
    public void PeerReadsNothingFor30s_SenderIsPushedBack_HealthNamesTheSink_ThenEveryEventArrivesOnceInOrder()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "tcp"
            inputs = ["in"]
            address = "{l.Address("sink")}"
            """);
        using var listener = new SinkListener(daemon.Layout.Port("sink"));
        Stopwatch stalled = Stopwatch.StartNew();

        int eventsSent = 0;
        bool stop = false;
        Exception? senderFailure = null;
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        socket.SendTimeout = 0; // blocks for as long as the daemon pushes back: that is the point
        var sender = new Thread(() =>
        {
            try
            {
                var chunk = new StringBuilder();
                while (!Volatile.Read(ref stop))
                {
                    chunk.Clear();
                    for (int i = 0; i < EventsPerChunk; i++)
                    {
                        chunk.Append(CultureInfo.InvariantCulture, $$"""{"type":"tick","seq":{{eventsSent + i}},"pad":"{{new string('p', 40)}}"}""").Append('\n');
                    }

                    TestSockets.SendAll(socket, Encoding.UTF8.GetBytes(chunk.ToString()));
                    Volatile.Write(ref eventsSent, eventsSent + EventsPerChunk);
                }
            }
            catch (Exception e)
            {
                senderFailure = e;
            }
        })
        { IsBackground = true, Name = "stalled-sink-sender" };
        sender.Start();

        // Stalled: once health says the peer has not read for 10 s, the sink has not moved for that
        // long, and what the daemon accepted is all it will accept while the stall lasts.
        string health = Eventually.Value(() => daemon.Control("health"), h => h.Contains("sink out blocked: peer has not read for ", StringComparison.Ordinal),
            h => $"health never named the blocked sink:\n{h}\n{listener.Describe()}", Stall);
        StatsSnapshot atBlocked = daemon.Stats();
        int sentAtBlocked = Volatile.Read(ref eventsSent);
        output.WriteLine($"health after {stalled.Elapsed.TotalSeconds:0.0} s:\n{health}");

        // The rest of the 30 s: every look finds the same connection, no error, nothing more accepted.
        while (stalled.Elapsed < Stall)
        {
            Assert.True(senderFailure is null, $"the sender failed: {senderFailure}");
            StatsSnapshot now = daemon.Stats();
            Assert.True(now.Value("events_received_total", ("source", "in")) == atBlocked.Value("events_received_total", ("source", "in")),
                $"the daemon kept accepting events while its sink was blocked: {atBlocked.Value("events_received_total", ("source", "in"))} then {now.Describe("events_received_total")}");
            Assert.True(now.Value("sink_errors_total", ("sink", "out")) == 0, $"a slow peer counted as a failing sink: {now.Describe("sink_errors_total")}");
            Assert.True(now.Value("sink_events_resent_total", ("sink", "out")) == 0, $"events re-sent without a failure: {now.Describe("sink_events_resent_total")}");
            Assert.True(listener.Snapshot().Count == 1, $"the sink reconnected to a peer that was only slow: {listener.Describe()}");
            Thread.Sleep(500);
        }

        StatsSnapshot atEnd = daemon.Stats();
        double accepted = atEnd.Value("events_received_total", ("source", "in"));
        int sentAtEnd = Volatile.Read(ref eventsSent);
        Assert.True(sentAtEnd == sentAtBlocked, $"the sender was not pushed back: {sentAtBlocked} events sent when the sink was reported blocked, {sentAtEnd} at the end of the stall");
        health = daemon.Control("health");
        Assert.True(health.Contains("sink out blocked: peer has not read for ", StringComparison.Ordinal), $"health stopped naming the blocked sink during the stall:\n{health}");
        output.WriteLine($"after {stalled.Elapsed.TotalSeconds:0.0} s: {sentAtEnd} events sent, {accepted} accepted, ring {atEnd.Value("ring_occupancy")}/{atEnd.Value("ring_capacity")}; health:\n{health}");
        Assert.True(daemon.Stderr.Contains("sink out blocked: peer has not read for", StringComparison.Ordinal), $"the start of the stall was not logged:\n{daemon.Stderr}");

        // The peer reads again: everything the sender sent arrives once, in order, on the one connection.
        Volatile.Write(ref stop, true);
        listener.StartReading();
        Assert.True(sender.Join(Eventually.DefaultTimeout), "the sender stayed blocked after the sink's peer started reading");
        Assert.True(senderFailure is null, $"the sender failed: {senderFailure}");
        socket.Shutdown(SocketShutdown.Send);
        int total = Volatile.Read(ref eventsSent);
        Eventually.True(() => listener.Lines >= total, () => $"the peer has {listener.Lines} of {total} lines: {listener.Describe()}; {daemon.Stats().Json}");

        var connections = listener.Snapshot();
        Assert.True(connections.Count == 1, $"{connections.Count} sink connections: {listener.Describe()}");
        List<string> lines = connections[0].Lines;
        int wrong = -1;
        for (int i = 0; i < lines.Count && wrong < 0; i++)
        {
            wrong = SequenceOf(lines[i]) == i ? -1 : i;
        }

        Assert.True(wrong < 0, $"line {wrong} carries seq {(wrong < 0 ? 0 : SequenceOf(lines[wrong]))}: events duplicated, lost or out of order");
        Assert.True(lines.Count == total && !connections[0].EndedMidLine, $"{lines.Count} lines for {total} events sent (ended mid-line: {connections[0].EndedMidLine})");

        StatsSnapshot after = daemon.Stats();
        Assert.True(after.Value("sink_events_resent_total", ("sink", "out")) == 0, after.Describe("sink_events_resent_total"));
        Assert.True(after.Value("sink_errors_total", ("sink", "out")) == 0, after.Describe("sink_errors_total"));
        Eventually.True(() => daemon.Stderr.Contains("sink out: peer reading again after", StringComparison.Ordinal),
            () => $"the end of the stall was not logged:\n{daemon.Stderr}");
        Assert.True(Count(daemon.Stderr, "sink out blocked:") == 1, $"the stall's start was logged more than once:\n{daemon.Stderr}");
        output.WriteLine($"{total} events delivered once each over one connection; the whole test took {stalled.Elapsed.TotalSeconds:0.0} s");
    }

    private static int SequenceOf(string line)
    {
        int at = line.IndexOf("\"seq\":", StringComparison.Ordinal) + 6;
        int end = line.IndexOf(',', at);
        return at >= 6 && end > at && int.TryParse(line.AsSpan(at, end - at), NumberStyles.None, CultureInfo.InvariantCulture, out int seq) ? seq : -1;
    }

    private static int Count(string text, string part)
    {
        int n = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
