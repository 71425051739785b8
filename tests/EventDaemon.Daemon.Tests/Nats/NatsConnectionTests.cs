using System.Text;
using EventDaemon.Daemon.Nats;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Daemon.Tests.Nats;

[Collection(AllocationMeasurements.Name)]
public sealed class NatsConnectionTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public void Publish_ReachesASubscriber_WithSubjectReplyAndHeaders()
    {
        using NatsServer server = NatsServer.Start();
        using var connection = Connect(server);
        connection.Subscribe("test.>", 7);

        for (int i = 0; i < 100; i++)
        {
            Assert.True(connection.TryPublish("test.a"u8, Encoding.ASCII.GetBytes($"reply.{i}"), Encoding.ASCII.GetBytes($"id-{i}"),
                Encoding.ASCII.GetBytes($"body {i}"), out string? error), $"publish {i} failed: {error}");
        }

        Assert.True(connection.Flush(out string? flushError), $"flush failed: {flushError}");
        var collector = new Collector { Messages = [] };
        PollUntil(connection, ref collector, () => collector.Messages.Count >= 100);

        Assert.True(collector.Messages.Count == 100, $"received {collector.Messages.Count} messages, expected the 100 published");
        for (int i = 0; i < 100; i++)
        {
            Received m = collector.Messages[i];
            Assert.True(m.Subject == "test.a" && m.Sid == 7, $"message {i} came as {m.Subject} sid {m.Sid}, expected test.a sid 7");
            Assert.True(m.ReplyTo == $"reply.{i}", $"message {i} has reply '{m.ReplyTo}', expected reply.{i}");
            Assert.True(m.Headers.Contains($"Nats-Msg-Id: id-{i}\r\n", StringComparison.Ordinal), $"message {i} headers lack its id: '{m.Headers}'");
            Assert.True(m.Payload == $"body {i}", $"message {i} body is '{m.Payload}', expected 'body {i}'");
        }
    }

    [Fact]
    public void PublishToAStream_IsAcknowledged_AndAReplayWithTheSameIdIsADuplicate()
    {
        using NatsServer server = NatsServer.Start();
        using (var probe = new JetStreamProbe(server.Url))
        {
            probe.CreateStreamAsync("ACKS", "acks.>").GetAwaiter().GetResult();
        }

        using var connection = Connect(server);
        connection.Subscribe("_INBOX.test.*", 1);
        var collector = new Collector { Messages = [] };
        for (int attempt = 0; attempt < 2; attempt++)
        {
            Assert.True(connection.TryPublish("acks.x"u8, "_INBOX.test.1"u8, "same-id"u8, "{}"u8, out string? error), $"publish failed: {error}");
            Assert.True(connection.Flush(out error), $"flush failed: {error}");
            PollUntil(connection, ref collector, () => collector.Messages.Count > attempt);
        }

        Assert.True(collector.Messages[0].Payload.Contains("\"stream\":\"ACKS\"", StringComparison.Ordinal)
            && !collector.Messages[0].Payload.Contains("duplicate", StringComparison.Ordinal),
            $"the first PubAck is '{collector.Messages[0].Payload}', expected a plain acknowledgement by stream ACKS");
        Assert.True(collector.Messages[1].Payload.Replace(" ", "", StringComparison.Ordinal).Contains("\"duplicate\":true", StringComparison.Ordinal),
            $"the replay's PubAck is '{collector.Messages[1].Payload}', expected it marked duplicate");
    }

    [Fact]
    public void ServerRestart_IsNoticed_AndTryConnectResubscribes()
    {
        using NatsServer server = NatsServer.Start();
        using var connection = Connect(server);
        connection.Subscribe("again.>", 3);
        Assert.True(connection.Flush(out string? error), $"flush failed: {error}");

        server.Restart();
        var collector = new Collector { Messages = [] };
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (connection.Poll(ref collector, 100_000, out _) >= 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the connection to the killed server was never found broken");
        }

        Assert.False(connection.IsConnected, "the connection still claims to be connected after the server was killed");
        Assert.True(connection.TryConnect(out error), $"reconnecting to the restarted server failed: {error}");
        Assert.True(connection.Connects == 2, $"{connection.Connects} handshakes counted, expected 2");

        Assert.True(connection.TryPublish("again.x"u8, default, default, "back"u8, out error), $"publish after reconnecting failed: {error}");
        Assert.True(connection.Flush(out error), $"flush failed: {error}");
        PollUntil(connection, ref collector, () => collector.Messages.Count >= 1);
        Assert.True(collector.Messages[0].Payload == "back", $"received '{collector.Messages[0].Payload}' after reconnecting, expected 'back'");
    }

    [Fact]
    public void PublishAndReceive_InSteadyState_AllocateNothing()
    {
        using NatsServer server = NatsServer.Start();
        using var connection = Connect(server);
        connection.Subscribe("zero.>", 1);
        byte[] payload = new byte[200];
        var counter = new Counter();

        // Warm up: JIT, the socket's first calls, the server's subscription.
        RoundTrip(connection, ref counter, payload, 2_000);

        const int Messages = 20_000;
        long before;
        long after;
        int collections;
        using (CollectionWatch watch = CollectionWatch.Start())
        {
            before = GC.GetAllocatedBytesForCurrentThread();
            RoundTrip(connection, ref counter, payload, Messages);
            after = GC.GetAllocatedBytesForCurrentThread();
            collections = watch.Collections;
        }

        Assert.True(after - before == 0, $"publishing and receiving {Messages} messages allocated {after - before} bytes on this thread, expected 0");
        Assert.True(collections == 0, $"{collections} collections ran while publishing and receiving");
        Assert.True(counter.Bytes == (long)(Messages + 2_000) * payload.Length, $"received {counter.Bytes} payload bytes, expected {(long)(Messages + 2_000) * payload.Length}");
    }

    private static void RoundTrip(NatsConnection connection, ref Counter counter, byte[] payload, int messages)
    {
        long target = counter.Messages + messages;
        DateTime deadline = DateTime.UtcNow + Deadline;
        for (int i = 0; i < messages; i++)
        {
            if (!connection.TryPublish("zero.a"u8, "r.1"u8, "id"u8, payload, out _))
            {
                Assert.Fail($"publish {i} failed: {connection.LastError}");
            }

            if (i % 256 == 255)
            {
                // Read while publishing, as a sink does, so neither side's buffers fill.
                connection.Flush(out _);
                connection.Poll(ref counter, 0, out _);
            }
        }

        connection.Flush(out _);
        while (counter.Messages < target)
        {
            if (connection.Poll(ref counter, 100_000, out _) < 0 || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"received {counter.Messages} of {target} messages; {connection.LastError}");
            }
        }
    }

    private static NatsConnection Connect(NatsServer server)
    {
        var connection = new NatsConnection(server.Url, "eventd-test");
        Assert.True(connection.TryConnect(out string? error), $"connecting to {server.Url} failed: {error}\n{server.Log}");
        return connection;
    }

    private static void PollUntil(NatsConnection connection, ref Collector collector, Func<bool> done)
    {
        DateTime deadline = DateTime.UtcNow + Deadline;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within {Deadline.TotalSeconds} s: received {collector.Messages.Count} messages");
            int n = connection.Poll(ref collector, 100_000, out string? error);
            Assert.True(n >= 0, $"the connection broke: {error}");
        }
    }

    private sealed record Received(string Subject, int Sid, string ReplyTo, string Headers, string Payload);

    private struct Collector : INatsMessageHandler
    {
        public List<Received> Messages;

        public readonly void OnMessage(ReadOnlySpan<byte> subject, int sid, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload) =>
            Messages.Add(new Received(Encoding.ASCII.GetString(subject), sid, Encoding.ASCII.GetString(replyTo), Encoding.ASCII.GetString(headers),
                Encoding.UTF8.GetString(payload)));
    }

    private struct Counter : INatsMessageHandler
    {
        public long Messages;
        public long Bytes;

        public void OnMessage(ReadOnlySpan<byte> subject, int sid, ReadOnlySpan<byte> replyTo, ReadOnlySpan<byte> headers, ReadOnlySpan<byte> payload)
        {
            Messages++;
            Bytes += payload.Length;
        }
    }
}
