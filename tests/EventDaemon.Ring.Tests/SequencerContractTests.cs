using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;
using Xunit;

namespace EventDaemon.Ring.Tests;

/// <summary>The behaviour every sequencer owes its producers and consumers; one subclass per sequencer.</summary>
public abstract class SequencerContractTests
{
    protected abstract Sequencer Create(int size, bool notify);

    /// <summary>Checks that each slot holds the next value in order and counts them.</summary>
    private struct InOrderHandler : IEventHandler<TestSlot>
    {
        public long Expected;
        public long Errors;
        public long Count;

        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            if (slot.Value != Expected || slot.Value != sequence)
            {
                Errors++;
            }

            Expected++;
            Count++;
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    [Fact]
    public void EveryPublishedSequence_IsDeliveredExactlyOnceInOrder_AcrossManyWraps()
    {
        const int events = 1_000_000;
        using var ring = new RingBuffer<TestSlot>(1024);
        Sequencer sequencer = Create(1024, notify: true);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        Stage stage = graph.Add("in-order", new InOrderHandler());
        graph.Start();

        for (long i = 0; i < events; i++)
        {
            long s = sequencer.Next();
            ring[s].Value = s;
            sequencer.Publish(s);
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "the consumer did not stop after draining");
        ref InOrderHandler handler = ref ((BatchEventProcessor<TestSlot, InOrderHandler, AdaptiveWait>)stage.Processor).Handler;
        Assert.True(handler.Count == events, $"delivered {handler.Count} of {events} events");
        Assert.True(handler.Errors == 0, $"{handler.Errors} events arrived out of order or with the wrong value");
    }

    [Fact]
    public void BatchClaims_AreDeliveredInOrder_AcrossWraps()
    {
        using var ring = new RingBuffer<TestSlot>(64);
        Sequencer sequencer = Create(64, notify: true);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        Stage stage = graph.Add("in-order", new InOrderHandler());
        graph.Start();

        long published = 0;
        for (int round = 0; round < 10_000; round++)
        {
            int n = 1 + round % 17;
            long high = sequencer.Next(n);
            for (long s = high - n + 1; s <= high; s++)
            {
                ring[s].Value = s;
            }

            sequencer.Publish(high - n + 1, high);
            published += n;
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "the consumer did not stop after draining");
        ref InOrderHandler handler = ref ((BatchEventProcessor<TestSlot, InOrderHandler, AdaptiveWait>)stage.Processor).Handler;
        Assert.True(handler.Count == published, $"delivered {handler.Count} of {published}");
        Assert.True(handler.Errors == 0, $"{handler.Errors} events out of order");
    }

    [Fact]
    public void TryNext_WhenRingFull_FailsAndSucceedsAfterConsumerAdvances()
    {
        Sequencer sequencer = Create(8, notify: false);
        var consumer = new Sequence();
        sequencer.SetGatingSequences([consumer]);

        for (int i = 0; i < 8; i++)
        {
            Assert.True(sequencer.TryNext(out long s), $"claim {i} of an empty ring of 8 failed");
            sequencer.Publish(s);
        }

        Assert.False(sequencer.TryNext(out _), "a full ring accepted a ninth claim");
        Assert.True(sequencer.RemainingCapacity == 0, $"full ring reports {sequencer.RemainingCapacity} free slots");

        consumer.SetValue(2); // the consumer finished sequences 0..2
        Assert.True(sequencer.TryNext(3, out long high), "three slots freed, but a claim of three failed");
        Assert.True(high == 10, $"claim returned {high}, expected 10");
        Assert.False(sequencer.TryNext(out _), "claimed past the slowest consumer");
    }

    [Fact]
    public void Next_WhenRingFull_WaitsUntilConsumerAdvances()
    {
        Sequencer sequencer = Create(4, notify: true);
        var consumer = new Sequence();
        sequencer.SetGatingSequences([consumer]);
        for (int i = 0; i < 4; i++)
        {
            sequencer.Publish(sequencer.Next());
        }

        long claimed = -1;
        var producer = new Thread(() => claimed = sequencer.Next());
        producer.Start();

        Assert.False(producer.Join(TimeSpan.FromMilliseconds(100)), "Next() returned while the ring was full");
        consumer.SetValue(0);
        consumer.WakeWaiters();
        Assert.True(producer.Join(TimeSpan.FromSeconds(10)), "Next() did not return after the consumer advanced");
        Assert.True(claimed == 4, $"claimed {claimed}, expected 4");
    }

    [Fact]
    public void Dependants_NeverSeeASlotBeforeTheirPredecessorsFinishedIt()
    {
        const int events = 300_000;
        using var ring = new RingBuffer<TestSlot>(256);
        Sequencer sequencer = Create(256, notify: true);
        var violations = new ViolationCounter();
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        Stage a = graph.Add("a", new StampA());
        Stage b = graph.Add("b", new StampB());
        Stage c = graph.Add("c", new CheckC { Violations = violations }, after: [a, b]);
        graph.Start();

        for (long i = 0; i < events; i++)
        {
            long s = sequencer.Next();
            ref TestSlot slot = ref ring[s];
            slot.Value = s;
            slot.StageA = -1;
            slot.StageB = -1;
            sequencer.Publish(s);
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stages did not stop after draining");
        Assert.True(violations.Count == 0, $"stage c saw {violations.Count} slots before a or b had stamped them");
        Assert.True(c.Position == events - 1, $"c stopped at {c.Position}, expected {events - 1}");
    }

    [Fact]
    public void Halt_ProcessesEverythingPublishedBeforeIt()
    {
        using var ring = new RingBuffer<TestSlot>(1 << 16);
        Sequencer sequencer = Create(1 << 16, notify: true);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        Stage first = graph.Add("first", new InOrderHandler());
        Stage second = graph.Add("second", new InOrderHandler(), after: [first]);

        // Publish before the consumers even start: halting must still deliver all of it.
        for (long i = 0; i < 50_000; i++)
        {
            long s = sequencer.Next();
            ring[s].Value = s;
            sequencer.Publish(s);
        }

        graph.Start();
        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stages did not stop");
        Assert.True(first.Position == 49_999, $"first stopped at {first.Position}");
        Assert.True(second.Position == 49_999, $"second stopped at {second.Position}");
    }

    [Fact]
    public void Halt_RacingStart_AlwaysStops()
    {
        // Halt() may land while a consumer thread is still starting up; it must never be lost.
        for (int round = 0; round < 300; round++)
        {
            using var ring = new RingBuffer<TestSlot>(64);
            Sequencer sequencer = Create(64, notify: true);
            var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
            Stage first = graph.Add("first", new InOrderHandler());
            graph.Add("second", new InOrderHandler(), after: [first]);
            graph.Start();
            Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), $"round {round}: a stage missed the halt");
        }
    }

    internal sealed class ViolationCounter
    {
        public long Count;
    }

    private struct StampA : IEventHandler<TestSlot>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch) => slot.StageA = sequence;

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    private struct StampB : IEventHandler<TestSlot>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch) => slot.StageB = sequence;

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    private struct CheckC : IEventHandler<TestSlot>
    {
        public ViolationCounter Violations;

        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            if (slot.StageA != sequence || slot.StageB != sequence)
            {
                Violations.Count++;
            }
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }
}

public sealed class SingleProducerSequencerTests : SequencerContractTests
{
    protected override Sequencer Create(int size, bool notify) => new SingleProducerSequencer(size, notify);
}

public sealed class MultiProducerSequencerTests : SequencerContractTests
{
    protected override Sequencer Create(int size, bool notify) => new MultiProducerSequencer(size, notify);

    private struct PerProducerOrder : IEventHandler<TestSlot>
    {
        public long[] LastByProducer;
        public long[] CountByProducer;
        public long OrderErrors;

        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            int p = (int)slot.Producer;
            if (slot.Value != LastByProducer[p] + 1)
            {
                OrderErrors++;
            }

            LastByProducer[p] = slot.Value;
            CountByProducer[p]++;
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    [Fact]
    public void FourProducersUnderContention_LoseNothing_DuplicateNothing_KeepEachProducersOrder()
    {
        const int producers = 4;
        const int perProducer = 1_000_000;
        using var ring = new RingBuffer<TestSlot>(4096);
        var sequencer = new MultiProducerSequencer(4096, notifyOnPublish: true);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        var handler = new PerProducerOrder
        {
            LastByProducer = [-1, -1, -1, -1],
            CountByProducer = new long[producers],
        };
        Stage stage = graph.Add("check", handler);
        graph.Start();

        var threads = new Thread[producers];
        for (int p = 0; p < producers; p++)
        {
            int id = p;
            threads[p] = new Thread(() =>
            {
                for (long i = 0; i < perProducer; i++)
                {
                    long s = sequencer.Next();
                    ref TestSlot slot = ref ring[s];
                    slot.Producer = id;
                    slot.Value = i;
                    sequencer.Publish(s);
                }
            });
            threads[p].Start();
        }

        foreach (Thread t in threads)
        {
            Assert.True(t.Join(TimeSpan.FromMinutes(2)), "a producer did not finish");
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "the consumer did not stop");
        ref PerProducerOrder result = ref ((BatchEventProcessor<TestSlot, PerProducerOrder, AdaptiveWait>)stage.Processor).Handler;
        for (int p = 0; p < producers; p++)
        {
            Assert.True(result.CountByProducer[p] == perProducer, $"producer {p}: {result.CountByProducer[p]} of {perProducer} delivered");
        }

        Assert.True(result.OrderErrors == 0, $"{result.OrderErrors} events broke their producer's order (lost or duplicated)");
    }

    [Fact]
    public void ThreeProducersClaimingRunsOfMixedSize_OnATinyRing_DeliverEveryEventExactlyOnce()
    {
        const int producers = 3;
        const int perProducer = 300_000;
        using var ring = new RingBuffer<TestSlot>(16);
        var sequencer = new MultiProducerSequencer(16, notifyOnPublish: true);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        var handler = new PerProducerOrder
        {
            LastByProducer = [-1, -1, -1],
            CountByProducer = new long[producers],
        };
        Stage stage = graph.Add("check", handler);
        graph.ExternalThreads = producers;
        graph.Start();

        var threads = new Thread[producers];
        for (int p = 0; p < producers; p++)
        {
            int id = p;
            threads[p] = new Thread(() =>
            {
                // Runs of 1..5 slots: claims overshoot the ring and wait for space after the
                // fetch-and-add, so consumers meet claimed-but-unpublished slots all the time.
                long i = 0;
                while (i < perProducer)
                {
                    int n = (int)Math.Min(1 + (i % 5), perProducer - i);
                    long high = sequencer.Next(n);
                    for (long s = high - n + 1; s <= high; s++)
                    {
                        ref TestSlot slot = ref ring[s];
                        slot.Producer = id;
                        slot.Value = i++;
                    }

                    sequencer.Publish(high - n + 1, high);
                }
            });
            threads[p].Start();
        }

        foreach (Thread t in threads)
        {
            Assert.True(t.Join(TimeSpan.FromMinutes(2)), "a producer did not finish");
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "the consumer did not stop");
        ref PerProducerOrder result = ref ((BatchEventProcessor<TestSlot, PerProducerOrder, AdaptiveWait>)stage.Processor).Handler;
        for (int p = 0; p < producers; p++)
        {
            Assert.True(result.CountByProducer[p] == perProducer, $"producer {p}: {result.CountByProducer[p]} of {perProducer} delivered");
        }

        Assert.True(result.OrderErrors == 0, $"{result.OrderErrors} events broke their producer's order (lost or duplicated)");
    }

    [Fact]
    public void TryNext_FromManyThreads_NeverOverrunsTheConsumer()
    {
        var sequencer = new MultiProducerSequencer(64, notifyOnPublish: false);
        var consumer = new Sequence();
        sequencer.SetGatingSequences([consumer]);
        long successes = 0;
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                if (sequencer.TryNext(out long s))
                {
                    Interlocked.Increment(ref successes);
                    sequencer.Publish(s);
                }
            }
        })).ToArray();
        foreach (Thread t in threads)
        {
            t.Start();
        }

        foreach (Thread t in threads)
        {
            t.Join();
        }

        Assert.True(successes == 64, $"{successes} claims succeeded on a ring of 64 that nobody consumed");
    }
}
