using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed class DrainTests(ITestOutputHelper output)
{
    private const int EventsPerConnection = 50_000;

    [Fact]
    public void Sigterm_RightAfterABlast_ExitsZero_WithEveryEventTheClientsSentInTheFile()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "file"
            inputs = ["in"]
            path = "{l.File("out.jsonl")}"
            """);
        string outPath = daemon.Layout.File("out.jsonl");

        // Two connections at once: one half-closes when done, the other stays open through the SIGTERM.
        using Socket closing = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        using Socket open = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        byte[][] blasts = [Blast("closing"), Blast("open")];
        var senders = new[] { new Thread(() => { TestSockets.SendAll(closing, blasts[0]); closing.Shutdown(SocketShutdown.Send); }), new Thread(() => TestSockets.SendAll(open, blasts[1])) };
        foreach (Thread t in senders)
        {
            t.Start();
        }

        foreach (Thread t in senders)
        {
            t.Join();
        }

        daemon.Signal(PosixSignal.SigTerm);
        int atSignal = SinkFile.CountLines(outPath);
        int exitCode = daemon.WaitForExit();
        output.WriteLine($"{2 * EventsPerConnection} events sent; {atSignal} in the file at SIGTERM");
        Assert.True(exitCode == 0, $"exit code {exitCode} after SIGTERM; stderr:\n{daemon.Stderr}");

        List<string> lines = SinkFile.TextLines(outPath);
        Assert.True(lines.Count == 2 * EventsPerConnection, $"{lines.Count} of {2 * EventsPerConnection} events in the file after the drain ({atSignal} were there at SIGTERM)");
        foreach (string conn in new[] { "closing", "open" })
        {
            int next = 0;
            foreach (string line in lines.Where(l => l.Contains($"\"{conn}\"", StringComparison.Ordinal)))
            {
                Assert.True(line == Line(conn, next), $"{conn}: expected event {next}, found {line}");
                next++;
            }

            Assert.True(next == EventsPerConnection, $"{conn}: {next} of {EventsPerConnection} events");
        }
    }

    [Fact]
    public void Sigterm_WithAFullRingBehindASinkThatCannotDeliver_GivesUpAfterDrainTimeout_CountsWhatItAbandoned_AndExitsThree()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "tcp"
            inputs = ["in"]
            address = "{l.Address("down")}"
            """, new DaemonOptions { DaemonSettings = "drain_timeout = \"1s\"" });

        // Nothing listens at the sink's address: the ring fills and the source's reader waits for room.
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        socket.Blocking = false;
        byte[] chunk = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 100).Select(i => Line("stuck", i) + "\n")));
        Eventually.True(() =>
        {
            try
            {
                socket.Send(chunk);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                // The kernel's buffers are full too.
            }

            StatsSnapshot stats = daemon.Stats();
            return stats.Value("ring_occupancy") == stats.Value("ring_capacity");
        }, () => $"the ring never filled: {daemon.Stats().Json}");

        StatsSnapshot before = daemon.Stats();
        Assert.True(before.Value("events_abandoned_total") == 0, $"events_abandoned_total should be 0 before any drain: {before.Json}");
        double received = before.Value("events_received_total", ("source", "in"));

        daemon.Signal(PosixSignal.SigTerm);
        int exitCode = daemon.WaitForExit();
        Assert.True(exitCode == 3, $"a drain that abandons events should exit 3, got {exitCode}; stderr:\n{daemon.Stderr}");
        Match logged = Regex.Match(daemon.Stderr, @"drain timed out after 1s: (\d+) events abandoned");
        Assert.True(logged.Success, $"giving up on the sink should be logged with the count; stderr:\n{daemon.Stderr}");
        // Nothing was ever delivered (the sink's peer never listened): every event received by the
        // signal, and any read after it, was abandoned by the one sink.
        long abandoned = long.Parse(logged.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(abandoned >= received, $"{abandoned} events counted as abandoned, but {received} had been received and none delivered; stderr:\n{daemon.Stderr}");
        Assert.False(daemon.Stderr.Contains("   at ", StringComparison.Ordinal), $"a stack trace was printed:\n{daemon.Stderr}");
    }

    [Fact]
    public void Sigterm_WithASinkPeerThatAcceptsButNeverReads_ExitsThree_WithTheAbandonedCountLogged()
    {
        int sinkPort = TestPorts.Next();
        using var peer = new SinkListener(sinkPort);
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "tcp"
            inputs = ["in"]
            address = "127.0.0.1:{sinkPort}"
            """, new DaemonOptions { DaemonSettings = "drain_timeout = \"1s\"" });

        // The peer is alive but reads nothing: the kernel's buffers fill, then the ring.
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        socket.Blocking = false;
        byte[] chunk = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 1000).Select(i => Line("stalled", i) + "\n")));
        Eventually.True(() =>
        {
            try
            {
                // As much as the kernel takes now: the sink's and the peer's socket buffers hold megabytes.
                for (int i = 0; i < 200; i++)
                {
                    socket.Send(chunk);
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
            }

            StatsSnapshot stats = daemon.Stats();
            return stats.Value("ring_occupancy") == stats.Value("ring_capacity");
        }, () => $"the ring never filled behind the stalled peer: {daemon.Stats().Json}; peer: {peer.Describe()}");

        daemon.Signal(PosixSignal.SigTerm);
        int exitCode = daemon.WaitForExit();
        Assert.True(exitCode == 3, $"a drain that abandons events should exit 3, got {exitCode}; stderr:\n{daemon.Stderr}");
        Match logged = Regex.Match(daemon.Stderr, @"(\d+) events abandoned");
        Assert.True(logged.Success && long.Parse(logged.Groups[1].Value, CultureInfo.InvariantCulture) > 0,
            $"the drain should log a non-zero abandoned count; stderr:\n{daemon.Stderr}");
        Assert.False(daemon.Stderr.Contains("   at ", StringComparison.Ordinal), $"a stack trace was printed:\n{daemon.Stderr}");
    }

    private static string Line(string conn, int seq) => $$"""{"type":"blast","conn":"{{conn}}","seq":{{seq}}}""";

    private static byte[] Blast(string conn)
    {
        var text = new StringBuilder(EventsPerConnection * 48);
        for (int i = 0; i < EventsPerConnection; i++)
        {
            text.Append(Line(conn, i)).Append('\n');
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
