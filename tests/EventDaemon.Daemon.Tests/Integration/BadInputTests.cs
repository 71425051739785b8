using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed class BadInputTests(ITestOutputHelper output)
{
    private const int MaxEventBytes = 1024;

    [Fact]
    public void MalformedAndOversizedLines_AreCountedAndRecorded_WhileEveryGoodLineAroundThemArrives()
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
            """, new DaemonOptions { DaemonSettings = $"max_event_bytes = {MaxEventBytes}" });

        // (bytes of the bad line, the reason it must be counted under)
        (byte[] Line, string Reason)[] bad =
        [
            (Bytes("this is not json"), "not_json"),
            (Bytes("""{"type":5,"key":"k"}"""), "bad_type"),
            (Bytes("""{"type":"t","key":true}"""), "bad_key"),
            (Bytes("""{"type":"t","value":"12"}"""), "bad_value"),
            (Bytes("""{"ts":"yesterday","type":"t"}"""), "bad_ts"),
            ([.. Bytes("""{"type":"t","key":"""), 0x22, 0xff, 0xfe, 0x22, (byte)'}'], "invalid_utf8"),
            (Bytes("[1,2,3]"), "not_object"),
            (Bytes($$"""{"type":"big","pad":"{{new string('x', 3 * MaxEventBytes)}}"}"""), "oversized"),
        ];

        var good = new List<string>();
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        for (int i = 0; i < bad.Length; i++)
        {
            string before = $$"""{"type":"good","seq":{{good.Count}}}""";
            good.Add(before);
            TestSockets.SendAll(socket, before + "\n");

            // The oversized line goes in small pieces, so it is skipped across many reads.
            byte[] line = [.. bad[i].Line, (byte)'\n'];
            int piece = bad[i].Reason == "oversized" ? 100 : line.Length;
            for (int at = 0; at < line.Length; at += piece)
            {
                TestSockets.SendAll(socket, line.AsSpan(at, Math.Min(piece, line.Length - at)));
            }
        }

        string outPath = daemon.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(outPath) >= good.Count,
            () => $"{SinkFile.CountLines(outPath)} of {good.Count} good lines written; {daemon.Stats().Json}");

        // The connection stayed open through all of it: one more line on it arrives too.
        string last = $$"""{"type":"good","seq":{{good.Count}}}""";
        good.Add(last);
        TestSockets.SendAll(socket, last + "\n");
        Eventually.True(() => SinkFile.CountLines(outPath) >= good.Count,
            () => $"a good line sent after the bad ones on the same connection did not arrive; {daemon.Stats().Json}");

        List<string> written = SinkFile.TextLines(outPath);
        Assert.True(written.SequenceEqual(good), $"written lines differ from the good lines sent:\n{string.Join('\n', written)}");

        StatsSnapshot stats = daemon.Stats();
        foreach ((_, string reason) in bad.Where(b => b.Reason != "oversized"))
        {
            Assert.True(stats.Value("events_invalid_total", ("source", "in"), ("reason", reason)) == 1,
                $"reason {reason} should count 1: {stats.Describe("events_invalid_total")}");
        }

        Assert.True(stats.Value("events_oversized_total", ("source", "in")) == 1, stats.Describe("events_oversized_total"));
        Assert.True(stats.Value("events_received_total", ("source", "in")) == good.Count, stats.Describe("events_received_total"));
        Assert.True(stats.Value("connections_open", ("source", "in")) == 1, $"the connection was closed: {stats.Describe("connections_open")}");

        string errors = daemon.Control("errors");
        foreach ((_, string reason) in bad)
        {
            Assert.True(errors.Contains($"source=in reason={reason}", StringComparison.Ordinal), $"ctl errors does not list {reason}:\n{errors}");
        }
    }

    [Fact]
    public void ConnectionsBeyondMaxConnections_AreRefusedAndCounted_AndASlotFreedIsUsableAgain()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"
            max_connections = 2

            [sinks.out]
            type = "file"
            inputs = ["in"]
            path = "{l.File("out.jsonl")}"
            """);
        int port = daemon.Layout.Port("in");
        string outPath = daemon.Layout.File("out.jsonl");

        using Socket first = TestSockets.ConnectTcp(port);
        using Socket second = TestSockets.ConnectTcp(port);
        TestSockets.SendAll(first, """{"conn":1}""" + "\n");
        TestSockets.SendAll(second, """{"conn":2}""" + "\n");
        Eventually.True(() => SinkFile.CountLines(outPath) == 2, () => $"the two allowed connections' lines: {daemon.Stats().Json}");

        using Socket third = TestSockets.ConnectTcp(port);
        Assert.True(TestSockets.WaitClosedByPeer(third, Eventually.DefaultTimeout), "a third connection over max_connections = 2 was kept open");
        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("events_dropped_total", ("source", "in"), ("reason", "max_connections")) == 1, stats.Describe("events_dropped_total"));
        Assert.True(stats.Value("connections_open", ("source", "in")) == 2, stats.Describe("connections_open"));

        // Closing one makes room: a new connection is served.
        first.Shutdown(SocketShutdown.Both);
        first.Close();
        Eventually.Value(() => daemon.Stats(), s => s.Value("connections_open", ("source", "in")) == 1, s => s.Describe("connections_open"));
        TestSockets.SendTcp(port, """{"conn":4}""" + "\n");
        Eventually.True(() => SinkFile.CountLines(outPath) == 3, () => $"a connection made after one closed was not served: {daemon.Stats().Json}");
        Assert.True(daemon.Stats().Value("events_dropped_total", ("source", "in"), ("reason", "max_connections")) == 1, "a connection within the limit was counted as refused");
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}
