using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Waiting;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Ring.Tests;

/// <summary>Steady state through a two-stage graph allocates nothing, on any thread.</summary>
[Collection(AllocationMeasurements.Name)]
public sealed class ZeroAllocationTests
{
    private const long Warmup = 100_000;
    private const long Events = 10_000_000;

    internal sealed class Measurement
    {
        public long AllocatedAtWarmup;
        public long AllocatedAtEnd;
    }

    private struct MeasuringHandler : IEventHandler<TestSlot>
    {
        public Measurement Measurement;
        public long Sum;

        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            Sum += slot.Value;
            if (sequence == Warmup)
            {
                Measurement.AllocatedAtWarmup = GC.GetAllocatedBytesForCurrentThread();
            }
            else if (sequence == Warmup + Events - 1)
            {
                Measurement.AllocatedAtEnd = GC.GetAllocatedBytesForCurrentThread();
            }
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    [Fact]
    public void TenMillionEventsThroughTwoStages_AllocateNothingAndCollectNothing()
    {
        using var ring = new RingBuffer<TestSlot>(1 << 14);
        var sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(1 << 14, multiProducer: false);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        var first = new Measurement();
        var second = new Measurement();
        Stage a = graph.Add("first", new MeasuringHandler { Measurement = first });
        graph.Add("second", new MeasuringHandler { Measurement = second }, after: [a]);
        graph.Start();

        Publish(sequencer, ring, Warmup);

        // A thread's first park creates its wait event (once per thread, in the runtime): whether
        // the warm-up filled the ring is up to the scheduler, so park once on purpose.
        int generation = sequencer.Cursor.BeginWait();
        sequencer.Cursor.Park(generation, 1);
        using var gc = CollectionWatch.Start();
        long producerBefore = GC.GetAllocatedBytesForCurrentThread();
        Publish(sequencer, ring, Events);
        long producerAllocated = GC.GetAllocatedBytesForCurrentThread() - producerBefore;

        Assert.True(graph.Halt(TimeSpan.FromSeconds(60)), "stages did not stop");
        Assert.True(producerAllocated == 0, $"the producer allocated {producerAllocated} bytes for {Events} events");
        Assert.True(first.AllocatedAtEnd - first.AllocatedAtWarmup == 0,
            $"stage 1 allocated {first.AllocatedAtEnd - first.AllocatedAtWarmup} bytes in steady state");
        Assert.True(second.AllocatedAtEnd - second.AllocatedAtWarmup == 0,
            $"stage 2 allocated {second.AllocatedAtEnd - second.AllocatedAtWarmup} bytes in steady state");
        Assert.True(gc.Collections == 0, $"collections happened during the run: {gc.Describe()}");
    }

    private static void Publish(Sequencing.Sequencer sequencer, RingBuffer<TestSlot> ring, long count)
    {
        for (long i = 0; i < count; i++)
        {
            long s = sequencer.Next();
            ring[s].Value = i;
            sequencer.Publish(s);
        }
    }
}
