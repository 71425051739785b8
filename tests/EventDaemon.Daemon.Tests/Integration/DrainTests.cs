using System.Net.Sockets;
using System.Text;
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
    public void Sigterm_WithAFullRingBehindASinkThatCannotDeliver_GivesUpAfterDrainTimeout_AndExits()
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

        daemon.Signal(PosixSignal.SigTerm);
        int exitCode = daemon.WaitForExit();
        Assert.True(exitCode == 0, $"exit code {exitCode}; stderr:\n{daemon.Stderr}");
        Assert.True(daemon.Stderr.Contains("drain timed out", StringComparison.Ordinal), $"giving up on the sink should be logged; stderr:\n{daemon.Stderr}");
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
