using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Sources;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Ingest;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>
/// The nats source's own thread in steady state against a real server: pull requests, bodies
/// copied and decoded into the ring, acks formatted into the send buffer, all without allocating.
/// The loop is driven on the test's thread, where <see cref="GC.GetAllocatedBytesForCurrentThread"/> sees it.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public sealed class NatsSourceAllocationTests
{
    private const int Warmup = 5_000;
    private const int Total = 20_000;

    [Fact]
    public void PullDecodeAndAck_InSteadyState_AllocateNothingOnTheSourceThread()
    {
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync("EVENTS", "events.>").GetAwaiter().GetResult();
        probe.PublishAsync("events.in", Enumerable.Range(0, Total).Select(i =>
            Encoding.UTF8.GetBytes($$"""{"type":"click","key":"k{{i % 97}}","value":{{i}},"ts":1733500000000000000}"""))).GetAwaiter().GetResult();

        // No stage gates the ring: every event is finished once published, so each message is acked on the next turn.
        using var ring = new EventRing(slots: 1 << 14, arenaBytes: 1 << 22, lockMemory: false, notifyOnPublish: false);
        var metrics = new SourceMetrics("bus", 1);
        var config = new NatsSourceConfig("bus", default, SourceFormat.Json, 1024, server.Url, "EVENTS", "events.>", "eventd", Batch: 256);
        var source = new NatsSource(config, metrics, ring, new BadInputLog(), 1024);
        try
        {
            Assert.True(source.ConnectForTest(), $"the source did not connect and find its consumer: {source.Problem}");
            NatsSource.Handler handler = source.HandlerForTest();
            TurnUntil(source, ref handler, Warmup);

            long ackedBefore = source.Nats.Acks;
            using (var watch = CollectionWatch.Start())
            {
                long allocated = TurnUntil(source, ref handler, Total);
                long acked = source.Nats.Acks - ackedBefore;
                Assert.True(watch.Collections == 0, $"collections ran while the source consumed: {watch.Describe()}");
                Assert.True(allocated == 0, $"the source's thread allocated {allocated} bytes for {acked} messages pulled, decoded and acknowledged");
            }

            Assert.True(metrics.Received == Total, $"{metrics.Received} events in the ring for {Total} messages");
        }
        finally
        {
            source.DisconnectForTest();
        }
    }

    /// <summary>Turns the loop until <paramref name="acks"/> messages are acknowledged; returns what the turns allocated.</summary>
    private static long TurnUntil(NatsSource source, ref NatsSource.Handler handler, long acks)
    {
        long allocated = 0;
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (source.Nats.Acks < acks)
        {
            if (DateTime.UtcNow >= deadline)
            {
                // Formatted only on failure: the loop is measured.
                Assert.Fail($"{source.Nats.Acks} of {acks} messages acknowledged within 30 s: {source.Problem}");
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            source.TurnForTest(ref handler);
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }

        return allocated;
    }
}
