using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed class JsonIngestTests(ITestOutputHelper output)
{
    private const int TcpConnections = 4;
    private const int TcpEventsEach = 1000;
    private const int UnixConnections = 2;
    private const int UnixEventsEach = 500;
    private const int UdpSenders = 2;
    private const int UdpEventsEach = 250;

    /// <summary>Datagrams sent before waiting for the daemon to take them: far below the kernel's receive buffer and the ring.</summary>
    private const int UdpDatagramsInFlight = 5;

    [Fact]
    public void JsonLines_OverTcpUdpAndUnix_ArriveInTheFileByteIdenticalAndInPerConnectionOrder()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.tcp_in]
            type = "tcp"
            address = "{l.Address("tcp")}"
            format = "json"

            [sources.udp_in]
            type = "udp"
            address = "{l.Address("udp")}"
            format = "json"

            [sources.unix_in]
            type = "unix"
            path = "{l.File("in.sock")}"
            format = "json"

            [sinks.out]
            type = "file"
            inputs = ["tcp_in", "udp_in", "unix_in"]
            path = "{l.File("out.jsonl")}"
            """, new DaemonOptions { RingSize = 4096, ArenaSize = "4MiB" });

        var expected = new Dictionary<string, List<string>>();
        var senders = new List<Thread>();
        for (int c = 0; c < TcpConnections; c++)
        {
            string conn = $"tcp-{c}";
            List<string> lines = Lines(conn, TcpEventsEach);
            expected[conn] = lines;
            // One connection ends its lines with \r\n: the sink writes the event without its terminator.
            string terminator = c == 0 ? "\r\n" : "\n";
            int seed = c;
            senders.Add(new Thread(() =>
            {
                using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("tcp"));
                SendInRandomPieces(socket, string.Concat(lines.Select(l => l + terminator)), seed);
                socket.Shutdown(SocketShutdown.Send);
            }));
        }

        for (int c = 0; c < UnixConnections; c++)
        {
            string conn = $"unix-{c}";
            List<string> lines = Lines(conn, UnixEventsEach);
            expected[conn] = lines;
            int seed = 100 + c;
            senders.Add(new Thread(() =>
            {
                using Socket socket = TestSockets.ConnectUnix(daemon.Layout.File("in.sock"));
                SendInRandomPieces(socket, string.Concat(lines.Select(l => l + "\n")), seed);
                socket.Shutdown(SocketShutdown.Send);
            }));
        }

        senders.ForEach(t => t.Start());

        // UDP in this thread meanwhile: each datagram holds 1-10 whole lines (the last one sometimes
        // without its newline), paced so the kernel never drops a datagram for want of buffer.
        var udp = new List<(Socket Socket, List<string> Lines)>();
        for (int s = 0; s < UdpSenders; s++)
        {
            string conn = $"udp-{s}";
            expected[conn] = Lines(conn, UdpEventsEach);
            udp.Add((TestSockets.UdpSender(), expected[conn]));
        }

        var random = new Random(7);
        int[] next = new int[UdpSenders];
        int udpSent = 0, datagrams = 0;
        while (next.Where((n, s) => n < udp[s].Lines.Count).Any())
        {
            for (int s = 0; s < UdpSenders; s++)
            {
                List<string> lines = udp[s].Lines;
                int take = Math.Min(random.Next(1, 11), lines.Count - next[s]);
                if (take == 0)
                {
                    continue;
                }

                string datagram = string.Join('\n', lines.GetRange(next[s], take)) + (random.Next(2) == 0 ? "\n" : "");
                TestSockets.SendDatagram(udp[s].Socket, daemon.Layout.Port("udp"), Encoding.UTF8.GetBytes(datagram));
                next[s] += take;
                udpSent += take;
                if (++datagrams % UdpDatagramsInFlight == 0)
                {
                    WaitReceived(daemon, "udp_in", udpSent);
                }
            }
        }

        udp.ForEach(u => u.Socket.Dispose());
        senders.ForEach(t => t.Join());

        int total = expected.Values.Sum(l => l.Count);
        string outPath = daemon.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(outPath) >= total,
            () => $"the file sink has {SinkFile.CountLines(outPath)} of {total} lines; {daemon.Stats().Json}");

        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("events_received_total", ("source", "tcp_in")) == TcpConnections * TcpEventsEach, stats.Describe("events_received_total"));
        Assert.True(stats.Value("events_received_total", ("source", "unix_in")) == UnixConnections * UnixEventsEach, stats.Describe("events_received_total"));
        Assert.True(stats.Value("events_received_total", ("source", "udp_in")) == UdpSenders * UdpEventsEach, stats.Describe("events_received_total"));
        Assert.True(stats.Series("events_dropped_total", ("source", "udp_in")) is null, $"a datagram source dropped events: {stats.Describe("events_dropped_total")}");

        List<string> written = SinkFile.TextLines(outPath);
        Assert.True(written.Count == total, $"the file holds {written.Count} lines, {total} were sent (duplicates?)");
        var byConnection = written.GroupBy(ConnectionOf).ToDictionary(g => g.Key, g => g.ToList());
        foreach ((string conn, List<string> sent) in expected)
        {
            Assert.True(byConnection.TryGetValue(conn, out List<string>? got), $"no line of connection {conn} arrived");
            Assert.True(got!.Count == sent.Count, $"{conn}: {got.Count} of {sent.Count} lines arrived");
            for (int i = 0; i < sent.Count; i++)
            {
                Assert.True(got[i] == sent[i], $"{conn}: line {i} differs or is out of order.\nsent:    {sent[i]}\nwritten: {got[i]}");
            }
        }
    }

    /// <summary>Lines of varied shape and length: unicode, escapes, nesting, other fields kept verbatim.</summary>
    private static List<string> Lines(string conn, int count)
    {
        var lines = new List<string>(count);
        for (int seq = 0; seq < count; seq++)
        {
            string pad = new('x', seq * 7 % 300);
            string second = (seq % 60).ToString("00", System.Globalization.CultureInfo.InvariantCulture);
            lines.Add((seq % 3) switch
            {
                0 => $$"""{"type":"click","key":"{{conn}}","value":{{seq}}.5,"conn":"{{conn}}","seq":{{seq}},"pad":"{{pad}}"}""",
                1 => $$"""{ "conn" : "{{conn}}", "seq": {{seq}}, "text": "h\u00e9llo \"w\u00f6rld\" \\ \t ✓", "nested": {"a": [1, 2.5e3, {"b": null}], "ok": true} }""",
                _ => $$"""{"ts":"2026-11-26T10:00:{{second}}.123456789Z","conn":"{{conn}}","seq":{{seq}},"value":-{{seq}}e-2,"type":"view"}""",
            });
        }

        return lines;
    }

    private static string ConnectionOf(string line)
    {
        using JsonDocument json = JsonDocument.Parse(line);
        return json.RootElement.GetProperty("conn").GetString()!;
    }

    /// <summary>Sends in pieces of random size, so lines are cut across the daemon's reads at every place.</summary>
    private static void SendInRandomPieces(Socket socket, string text, int seed)
    {
        var random = new Random(seed);
        ReadOnlySpan<byte> bytes = Encoding.UTF8.GetBytes(text);
        while (!bytes.IsEmpty)
        {
            int piece = Math.Min(bytes.Length, random.Next(1, 4096));
            TestSockets.SendAll(socket, bytes[..piece]);
            bytes = bytes[piece..];
        }
    }

    private static void WaitReceived(DaemonProcess daemon, string source, int count) =>
        Eventually.Value(
            () => daemon.Stats(),
            s => s.Value("events_received_total", ("source", source)) + s.Value("events_dropped_total", ("source", source)) >= count,
            s => $"{source} took {s.Value("events_received_total", ("source", source))} of {count} events; {s.Describe("events_dropped_total")}");
}
