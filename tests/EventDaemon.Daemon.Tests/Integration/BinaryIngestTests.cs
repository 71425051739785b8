using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.Client;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed class BinaryIngestTests(ITestOutputHelper output)
{
    private const long BaseTs = 1_764_151_200_000_000_000;
    private const int HalfOfA = 100;
    private const int GoodFramesOfB = 10;

    [Fact]
    public void BinaryFrames_AreWrittenAsJson_AndABadFrameClosesOnlyItsOwnConnection()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "binary"

            [sinks.out]
            type = "file"
            inputs = ["in"]
            path = "{l.File("out.jsonl")}"
            """);
        int port = daemon.Layout.Port("in");

        using EventClient a = EventClient.ConnectTcp("127.0.0.1", port);
        for (int i = 0; i < HalfOfA; i++)
        {
            SendFrame(a, "a", i);
        }

        a.Flush();

        // B: good frames, then one of version 2, then more that must never be read.
        using Socket b = TestSockets.ConnectTcp(port);
        var stream = new MemoryStream();
        for (int i = 0; i < GoodFramesOfB; i++)
        {
            stream.Write(Frame("b", i));
        }

        byte[] bad = Frame("b", GoodFramesOfB);
        bad[4] = 2; // version
        stream.Write(bad);
        for (int i = GoodFramesOfB + 1; i < GoodFramesOfB + 5; i++)
        {
            stream.Write(Frame("b", i));
        }

        TestSockets.SendAll(b, stream.ToArray());
        Assert.True(TestSockets.WaitClosedByPeer(b, Eventually.DefaultTimeout),
            $"the daemon kept the connection that sent a version-2 frame open; {daemon.Stats().Describe("connections_open")}");

        // A is unaffected: the rest of its frames go through on the same connection.
        for (int i = HalfOfA; i < 2 * HalfOfA; i++)
        {
            SendFrame(a, "a", i);
        }

        a.Complete();

        int total = 2 * HalfOfA + GoodFramesOfB;
        string outPath = daemon.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(outPath) >= total,
            () => $"{SinkFile.CountLines(outPath)} of {total} lines written; {daemon.Stats().Json}");

        List<string> lines = SinkFile.TextLines(outPath);
        Assert.True(lines.Count == total, $"{lines.Count} lines written, {total} expected:\n{string.Join('\n', lines.TakeLast(10))}");
        var next = new Dictionary<string, int> { ["a"] = 0, ["b"] = 0 };
        foreach (string line in lines)
        {
            using JsonDocument json = JsonDocument.Parse(line);
            JsonElement e = json.RootElement;
            string key = e.GetProperty("key").GetString()!;
            string conn = key[..1];
            int i = next[conn]++;
            Assert.True(key == $"{conn}-{i}", $"connection {conn}: expected event {i}, got {line}");
            AssertFields(conn, i, e, line);
        }

        Assert.True(next["a"] == 2 * HalfOfA && next["b"] == GoodFramesOfB,
            $"frames per connection: a {next["a"]} of {2 * HalfOfA}, b {next["b"]} of {GoodFramesOfB} (none after the bad frame)");

        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("events_invalid_total", ("source", "in"), ("reason", "unsupported_version")) == 1,
            $"the bad frame was not counted under its reason: {stats.Describe("events_invalid_total")}");
        Assert.True(stats.Value("events_received_total", ("source", "in")) == total, stats.Describe("events_received_total"));

        string errors = daemon.Control("errors");
        Assert.True(errors.Contains("source=in reason=unsupported_version", StringComparison.Ordinal), $"ctl errors does not record the bad frame:\n{errors}");
        Assert.True(daemon.Stderr.Contains("unsupported_version", StringComparison.Ordinal),
            $"closing the connection was not logged with its reason; stderr:\n{daemon.Stderr}");
    }

    private static void AssertFields(string conn, int i, JsonElement e, string line)
    {
        bool hasTs = i % 10 != 3;
        long ts = e.GetProperty("ts").GetInt64();
        if (hasTs)
        {
            Assert.True(ts == BaseTs + i, $"ts: expected {BaseTs + i} in {line}");
        }
        else
        {
            // No ts in the frame: the daemon stamps its ingest time.
            Assert.True(ts > BaseTs, $"ts of a frame without one should be the ingest time, in {line}");
        }

        Assert.True(e.GetProperty("type").GetString() == TypeOf(i), $"type: expected {JsonSerializer.Serialize(TypeOf(i))} in {line}");
        Assert.True(e.GetProperty("value").GetDouble() == ValueOf(i), $"value: expected {ValueOf(i)} in {line}");
        byte[] payload = PayloadOf(conn, i);
        if (payload.Length == 0)
        {
            Assert.False(e.TryGetProperty("payload", out _), $"an empty payload should be left out: {line}");
        }
        else
        {
            Assert.True(e.GetProperty("payload").GetBytesFromBase64().AsSpan().SequenceEqual(payload), $"payload differs in {line}");
        }
    }

    private static string TypeOf(int i) => i % 7 == 0 ? "quote\" back\\ ctl\u0001 ünï" : "reading";

    private static double ValueOf(int i) => i * 0.25 - 3;

    private static byte[] PayloadOf(string conn, int i) => [.. Enumerable.Range(0, i % 40).Select(n => (byte)(n * 37 + i + conn[0]))];

    private static void SendFrame(EventClient client, string conn, int i)
    {
        byte[] type = Encoding.UTF8.GetBytes(TypeOf(i));
        byte[] key = Encoding.UTF8.GetBytes($"{conn}-{i}");
        client.SendFrame(new FrameEvent
        {
            Timestamp = i % 10 == 3 ? null : BaseTs + i,
            Type = type,
            Key = key,
            Value = ValueOf(i),
            Payload = PayloadOf(conn, i),
        });
    }

    private static byte[] Frame(string conn, int i)
    {
        byte[] type = Encoding.UTF8.GetBytes(TypeOf(i));
        byte[] key = Encoding.UTF8.GetBytes($"{conn}-{i}");
        byte[] payload = PayloadOf(conn, i);
        var e = new FrameEvent { Timestamp = i % 10 == 3 ? null : BaseTs + i, Type = type, Key = key, Value = ValueOf(i), Payload = payload };
        byte[] frame = new byte[BinaryFrameWriter.GetFrameLength(in e)];
        BinaryFrameWriter.Write(frame, in e);
        return frame;
    }
}
