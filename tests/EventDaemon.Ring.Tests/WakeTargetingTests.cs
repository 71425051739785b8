using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;
using Xunit;

namespace EventDaemon.Ring.Tests;

/// <summary>A sleeper is woken by the sequence it waits for and by nothing else: a publish wakes the
/// first-level stages, a batch end the stages after that stage and producers gated on it.</summary>
public sealed class WakeTargetingTests
{
    internal sealed class Gate
    {
        public readonly ManualResetEventSlim Open = new();
        public long Seen;
    }

    /// <summary>Holds the first event until the gate opens: its stage's sequence does not move.</summary>
    private struct Holding : IEventHandler<TestSlot>
    {
        public Gate Gate;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            Gate.Open.Wait(TimeSpan.FromSeconds(30));
            Interlocked.Increment(ref Gate.Seen);
        }

        public readonly void OnTimeout(long sequence)
        {
        }

        public readonly void OnShutdown()
        {
        }
    }

    private struct Counting : IEventHandler<TestSlot>
    {
        public Gate Gate;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch) => Interlocked.Increment(ref Gate.Seen);

        public readonly void OnTimeout(long sequence)
        {
        }

        public readonly void OnShutdown()
        {
        }
    }

    [Fact]
    public void Publishing_DoesNotWakeAStageWhoseDependencyDidNotMove()
    {
        using var ring = new RingBuffer<TestSlot>(64);
        var sequencer = EventGraph<TestSlot, BlockingWait>.CreateSequencer(64, multiProducer: false);
        using var graph = new EventGraph<TestSlot, BlockingWait>(ring, sequencer);
        var held = new Gate();
        var after = new Gate();
        var beside = new Gate();
        Stage a = graph.Add("held", new Holding { Gate = held });
        Stage b = graph.Add("after-held", new Counting { Gate = after }, after: [a]);
        Stage c = graph.Add("beside", new Counting { Gate = beside });
        graph.Start();
        try
        {
            Assert.True(Wait.Until(() => a.Processor.Sequence.HasSleepers, TimeSpan.FromSeconds(10)),
                "the stage after 'held' never went to sleep on held's sequence");
            const int events = 10;
            for (int i = 0; i < events; i++)
            {
                sequencer.Publish(sequencer.Next());
                int expected = i + 1;
                Assert.True(Wait.Until(() => Volatile.Read(ref beside.Seen) == expected, TimeSpan.FromSeconds(10)),
                    $"the first-level stage beside did not see publish {i}");
            }

            Assert.True(b.Processor.Barrier.WakeUps == 0,
                $"the stage after 'held' was woken {b.Processor.Barrier.WakeUps} times although 'held' never moved");
            Assert.True(c.Processor.Barrier.WakeUps >= 1, "the first-level stage was never woken by a publish");

            held.Open.Set();
            Assert.True(Wait.Until(() => Volatile.Read(ref after.Seen) == events, TimeSpan.FromSeconds(10)),
                $"the stage after 'held' saw {after.Seen} of {events} once 'held' moved");
            Assert.True(b.Processor.Barrier.WakeUps >= 1, "the stage after 'held' ran without a wake-up from 'held'");
            Assert.True(a.Processor.Sequence.Wakes >= 1, "'held' never woke its dependant");
        }
        finally
        {
            held.Open.Set();
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the stages did not stop");
    }

    [Fact]
    public void AProducerWaitingForSpace_SleepsOnTheGatingSequenceItIsBehind()
    {
        var sequencer = new SingleProducerSequencer(4, notifyOnPublish: true);
        var ahead = new Sequence();
        var behind = new Sequence();
        sequencer.SetGatingSequences([ahead, behind], producersSpin: false);
        for (int i = 0; i < 4; i++)
        {
            sequencer.Publish(sequencer.Next());
        }

        ahead.SetValue(3);
        long claimed = -1;
        var producer = new Thread(() => claimed = sequencer.Next()) { IsBackground = true };
        producer.Start();

        Assert.True(Wait.Until(() => behind.HasSleepers, TimeSpan.FromSeconds(10)),
            "the producer never went to sleep on the gating sequence it is behind");
        Assert.False(ahead.HasSleepers, "the producer registered on a gating sequence that was not holding it back");
        behind.SetValue(0);
        behind.WakeWaiters();
        Assert.True(producer.Join(TimeSpan.FromSeconds(10)), "the producer did not wake when the lagging stage moved");
        Assert.True(claimed == 4, $"claimed {claimed}, expected 4");
        Assert.True(behind.Wakes == 1, $"{behind.Wakes} wake-ups issued for one sleeping producer");
    }

    [Fact]
    public void ABatchEnd_WithNobodyAsleep_IssuesNoWakeUp()
    {
        var sequence = new Sequence();
        for (long i = 0; i < 1000; i++)
        {
            sequence.SetValue(i);
            sequence.WakeWaiters();
        }

        Assert.True(sequence.Wakes == 0, $"{sequence.Wakes} wake-ups issued with no sleeper");
    }

    [Fact]
    public void ASleeperRegisteredOnce_CostsItsWriterOneWakeUp_HoweverManyBatchesFollow()
    {
        var sequence = new Sequence();
        sequence.BeginWait();
        for (long i = 0; i < 100; i++)
        {
            sequence.SetValue(i);
            sequence.WakeWaiters();
        }

        Assert.True(sequence.Wakes == 1, $"{sequence.Wakes} wake-ups for one registration, expected 1");
    }

    /// <summary>Counts its calls: the barrier must not make any while work is already available.</summary>
    private struct CountingWait : IWaitStrategy
    {
        public int Calls;

        public static bool Parks => false;

        public readonly void Configure(in WaitContext context)
        {
        }

        public long WaitFor(long sequence, SequenceBarrier barrier, long deadline)
        {
            Calls++;
            return WaitResult.TimedOut;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WorkAlreadyAvailable_IsReturnedWithoutCallingTheWaitStrategy(bool multiProducer)
    {
        Sequencer sequencer = multiProducer ? new MultiProducerSequencer(16, true) : new SingleProducerSequencer(16, true);
        for (int i = 0; i < 10; i++)
        {
            sequencer.Publish(sequencer.Next());
        }

        SequenceBarrier barrier = sequencer.NewBarrier();
        var wait = new CountingWait();
        long available = barrier.WaitFor(ref wait, 0, long.MaxValue);

        Assert.True(available == 9, $"barrier returned {available}, expected the whole batch up to 9");
        Assert.True(wait.Calls == 0, $"the wait strategy was called {wait.Calls} times with work available");
        Assert.True(barrier.WaitFor(ref wait, 10, 0) == WaitResult.TimedOut, "an unavailable sequence did not go to the strategy");
        Assert.True(wait.Calls == 1, "the strategy was not called once for an unavailable sequence");
    }

    [Fact]
    public void AConsumerWaitingForASlotClaimedByAProducerWaitingForSpace_SleepsUntilItIsPublished()
    {
        var sequencer = new MultiProducerSequencer(4, notifyOnPublish: true);
        var last = new Sequence();
        sequencer.SetGatingSequences([last], producersSpin: false);
        for (int i = 0; i < 4; i++)
        {
            sequencer.Publish(sequencer.Next());
        }

        // The claim of 4 is taken at once (fetch-and-add) and then waits for the last stage.
        var producer = new Thread(() => sequencer.Publish(sequencer.Next())) { IsBackground = true };
        producer.Start();
        Assert.True(Wait.Until(() => sequencer.Cursor.Value == 4 && last.HasSleepers, TimeSpan.FromSeconds(10)),
            "the producer did not claim 4 and sleep waiting for space");

        SequenceBarrier barrier = sequencer.NewBarrier();
        long got = long.MinValue;
        var consumer = new Thread(() =>
        {
            var wait = new BlockingWait();
            got = barrier.WaitFor(ref wait, 4, long.MaxValue);
        })
        { IsBackground = true };
        consumer.Start();
        Assert.True(Wait.Until(() => sequencer.Cursor.HasSleepers, TimeSpan.FromSeconds(10)),
            "the consumer waiting for a claimed, unpublished slot never went to sleep");

        last.SetValue(0);
        last.WakeWaiters();
        Assert.True(producer.Join(TimeSpan.FromSeconds(10)), "the producer did not get its space");
        Assert.True(consumer.Join(TimeSpan.FromSeconds(10)), "the consumer did not wake when the slot was published");
        Assert.True(got == 4, $"the consumer got {got}, expected 4");
        Assert.True(sequencer.Cursor.Wakes >= 1, "the publish never woke the sleeping consumer");
    }
}
