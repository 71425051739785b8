using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed class BackpressureTests(ITestOutputHelper output)
{
    /// <summary>Events per send: about 10 KB.</summary>
    private const int EventsPerChunk = 100;

    /// <summary>If this much goes in without the sender ever blocking, nothing pushed back.</summary>
    private const long NeverBlockedBytes = 256L * 1024 * 1024;

    /// <summary>
    /// RSS may grow by this much under a stalled sink. Ring (1024 slots) and arena (1 MiB) are
    /// allocated and touched at start; what remains is per-connection read buffers and the sink's
    /// batch buffer, well under this. A daemon that buffered what it could not deliver would grow by
    /// everything the sender pushed in.
    /// </summary>
    private const long RssGrowthBound = 16L * 1024 * 1024;

    /// <summary>No progress for this long, while more is ready to go, means the send is blocked.</summary>
    private static readonly TimeSpan BlockedAfter = TimeSpan.FromSeconds(1);

    [Fact]
    public void AStalledTcpSink_PushesBackToTheSender_WithBoundedMemory_AndLosesNothingOnceItReads()
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
            max_backoff = "200ms"
            """, new DaemonOptions { RingSize = 1024, ArenaSize = "1MiB" });
        using var listener = new SinkListener(daemon.Layout.Port("sink"));
        double rssBefore = daemon.Stats().Value("process_resident_memory_bytes");

        long bytesSent = 0;
        int eventsSent = 0;
        bool stop = false;
        Exception? senderFailure = null;
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        socket.SendBufferSize = 32 * 1024;
        socket.SendTimeout = 0; // blocks as long as the daemon pushes back: that is the point
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
                        chunk.Append($$"""{"type":"tick","seq":{{eventsSent + i}},"pad":"{{new string('p', 60)}}"}""").Append('\n');
                    }

                    ReadOnlySpan<byte> bytes = Encoding.UTF8.GetBytes(chunk.ToString());
                    while (!bytes.IsEmpty)
                    {
                        int n = socket.Send(bytes);
                        bytes = bytes[n..];
                        Interlocked.Add(ref bytesSent, n);
                    }

                    Volatile.Write(ref eventsSent, eventsSent + EventsPerChunk);
                }
            }
            catch (Exception e)
            {
                senderFailure = e;
            }
        })
        { IsBackground = true, Name = "backpressure-sender" };
        sender.Start();

        // Send until the sender's send blocks: its bytes stop moving although it has more to send.
        long seen = -1;
        DateTime lastMove = DateTime.UtcNow;
        while (true)
        {
            long now = Interlocked.Read(ref bytesSent);
            Assert.True(senderFailure is null, $"the sender failed: {senderFailure}");
            Assert.True(now < NeverBlockedBytes, $"{now} bytes went in and the sender was never pushed back; {daemon.Stats().Json}");
            if (now != seen)
            {
                seen = now;
                lastMove = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - lastMove >= BlockedAfter)
            {
                break;
            }

            Thread.Sleep(50);
        }

        StatsSnapshot blocked = daemon.Stats();
        double rssBlocked = blocked.Value("process_resident_memory_bytes");
        output.WriteLine($"sender blocked after {seen} bytes ({Volatile.Read(ref eventsSent)} events); " +
            $"ring {blocked.Value("ring_occupancy")}/{blocked.Value("ring_capacity")}, arena {blocked.Value("arena_used_bytes")}/{blocked.Value("arena_capacity_bytes")}; " +
            $"RSS {rssBefore / 1048576:0.0} MiB before, {rssBlocked / 1048576:0.0} MiB blocked");
        Assert.True(rssBlocked - rssBefore < RssGrowthBound,
            $"RSS grew from {rssBefore} to {rssBlocked} bytes while the sink was stalled ({seen} bytes sent)");
        Assert.True(blocked.Value("events_dropped_total", ("source", "in")) == 0, $"a stream source dropped events: {blocked.Describe("events_dropped_total")}");

        // The far end reads now: everything sent arrives.
        Volatile.Write(ref stop, true);
        listener.StartReading();
        Assert.True(sender.Join(Eventually.DefaultTimeout), "the sender stayed blocked after the sink's peer started reading");
        Assert.True(senderFailure is null, $"the sender failed: {senderFailure}");
        socket.Shutdown(SocketShutdown.Send);
        int total = Volatile.Read(ref eventsSent);

        Eventually.True(() => listener.Lines >= total && Missing(listener, total).Count == 0,
            () => $"the sink's peer has {listener.Lines} lines of {total} ({listener.Describe()}); first missing: {string.Join(',', Missing(listener, total).Take(10))}; {daemon.Stats().Json}");

        StatsSnapshot after = daemon.Stats();
        var connections = listener.Snapshot();
        int lines = connections.Sum(c => c.Lines.Count);
        double sinkErrors = after.Value("sink_errors_total", ("sink", "out"));
        output.WriteLine($"{total} events sent, {lines} lines over {connections.Count} sink connections, sink_errors_total {sinkErrors}");
        if (sinkErrors == 0)
        {
            // No write failed, so no batch was sent twice.
            Assert.True(lines == total && connections.All(c => !c.EndedMidLine),
                $"{lines} lines for {total} events without a single sink error; a connection ended mid-line: {connections.Any(c => c.EndedMidLine)}");
        }

        Assert.True(after.Value("events_received_total", ("source", "in")) == total, after.Describe("events_received_total"));
    }

    /// <summary>Sequence numbers below <paramref name="total"/> that no connection delivered.</summary>
    private static List<int> Missing(SinkListener listener, int total)
    {
        var seen = new bool[total];
        foreach ((List<string> lines, _) in listener.Snapshot())
        {
            foreach (string line in lines)
            {
                int at = line.IndexOf("\"seq\":", StringComparison.Ordinal) + 6;
                int end = line.IndexOf(',', at);
                if (at >= 6 && end > at && int.TryParse(line.AsSpan(at, end - at), out int seq) && seq < total)
                {
                    seen[seq] = true;
                }
            }
        }

        return [.. Enumerable.Range(0, total).Where(i => !seen[i])];
    }
}
