using System.Text;
using EventDaemon.Daemon.Sinks.Transports;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Daemon.Tests.Nats;

[Collection(AllocationMeasurements.Name)]
public sealed class NatsTransportTests
{
    [Fact]
    public void TryWrite_SucceedsOnlyOnceTheStreamHoldsEveryLine()
    {
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync("T", "t.>").GetAwaiter().GetResult();
        var transport = new NatsTransport(server.Url, "t.in", maxInFlight: 64);
        byte[] batch = Batch(0, 1_000);

        Assert.True(transport.TryWrite(batch, out string? error), $"the batch was not written: {error}");

        // Returned true: every PubAck is in, so the stream holds all of it now, not eventually.
        long count = probe.CountAsync("T").GetAwaiter().GetResult();
        Assert.True(count == 1_000, $"the stream holds {count} messages after a successful write of 1,000 (window 64)");
        Assert.True(transport.Acknowledged == 1_000, $"{transport.Acknowledged} PubAcks counted, expected 1,000");
        List<byte[]> bodies = probe.ReadAllAsync("T").GetAwaiter().GetResult();
        Assert.True(Encoding.UTF8.GetString(bodies[999]) == "{\"n\":999}", $"the last message is '{Encoding.UTF8.GetString(bodies[999])}', expected the last line without its newline");
        transport.Close();
    }

    [Fact]
    public void TryWrite_WithoutAStream_FailsNamingTheSubject_AndTheSameBatchLaterIsStoredOnce()
    {
        using NatsServer server = NatsServer.Start();
        var transport = new NatsTransport(server.Url, "nostream.in");
        byte[] batch = Batch(0, 10);

        Assert.False(transport.TryWrite(batch, out string? error), "a write with no stream to hold it succeeded");
        Assert.True(error is not null && error.Contains("no stream captures subject 'nostream.in'", StringComparison.Ordinal),
            $"the failure does not say that no stream captures the subject: '{error}'");

        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync("LATE", "nostream.>").GetAwaiter().GetResult();
        Assert.True(transport.TryWrite(batch, out error), $"the batch offered again once the stream exists failed: {error}");
        long count = probe.CountAsync("LATE").GetAwaiter().GetResult();
        Assert.True(count == 10, $"the stream holds {count} messages, expected the batch of 10 once");
        transport.Close();
    }

    [Fact]
    public void TryWrite_WhenThePubAckIsAnError_FailsAndTheRetrySendsOnlyWhatWasNotStored()
    {
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateBoundedStreamAsync("FULL", 5, "full.>").GetAwaiter().GetResult();
        var transport = new NatsTransport(server.Url, "full.in");
        byte[] batch = Batch(0, 10);

        Assert.False(transport.TryWrite(batch, out string? error), "a write the stream refused half of succeeded");
        Assert.True(error is not null && error.Contains("5 of 10 not stored", StringComparison.Ordinal), $"the failure does not count what was refused: '{error}'");
        Assert.True(transport.Failures == 5, $"{transport.Failures} failed PubAcks counted, expected 5");

        // Room again: the retry must send only the 5 refused (the 5 stored keep their acknowledgement).
        probe.PurgeAsync("FULL").GetAwaiter().GetResult();
        Assert.True(transport.TryWrite(batch, out error), $"the retry failed: {error}");
        List<byte[]> bodies = probe.ReadAllAsync("FULL").GetAwaiter().GetResult();
        string[] stored = [.. bodies.Select(b => Encoding.UTF8.GetString(b))];
        Assert.True(stored.Length == 5 && stored.All(s => int.Parse(s[5..^1], System.Globalization.CultureInfo.InvariantCulture) >= 5),
            $"after the retry the purged stream holds [{string.Join(", ", stored)}], expected only the 5 refused events n 5-9");
        transport.Close();
    }

    [Fact]
    public void TryWrite_InSteadyState_AllocatesNothing()
    {
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync("Z", "z.>").GetAwaiter().GetResult();
        var transport = new NatsTransport(server.Url, "z.in");
        byte[][] batches = [.. Enumerable.Range(0, 40).Select(i => Batch(i * 256, 256))];

        // Warm up: connect, JIT, the first growth of the per-line arrays.
        for (int i = 0; i < 4; i++)
        {
            Assert.True(transport.TryWrite(batches[i], out string? error), $"warm-up batch {i} failed: {error}");
        }

        long before;
        long after;
        int collections;
        using (CollectionWatch watch = CollectionWatch.Start())
        {
            before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 4; i < batches.Length; i++)
            {
                if (!transport.TryWrite(batches[i], out string? error))
                {
                    Assert.Fail($"batch {i} failed: {error}");
                }
            }

            after = GC.GetAllocatedBytesForCurrentThread();
            collections = watch.Collections;
        }

        Assert.True(after - before == 0, $"publishing {(batches.Length - 4) * 256} events and taking their PubAcks allocated {after - before} bytes, expected 0");
        Assert.True(collections == 0, $"{collections} collections ran while publishing");
        Assert.True(transport.Acknowledged == batches.Length * 256, $"{transport.Acknowledged} acknowledged, expected {batches.Length * 256}");
        transport.Close();
    }

    private static byte[] Batch(int first, int count) =>
        Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(first, count).Select(n => $"{{\"n\":{n}}}\n")));
}
