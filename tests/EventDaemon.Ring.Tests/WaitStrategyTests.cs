using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;
using Xunit;

namespace EventDaemon.Ring.Tests;

/// <summary>One contract for every wait strategy: a consumer waiting on an empty ring wakes for the next event.</summary>
public abstract class WaitStrategyContractTests<TWait> where TWait : struct, IWaitStrategy
{
    internal sealed class Seen
    {
        public long Count;
    }

    private struct CountingHandler : IEventHandler<TestSlot>
    {
        public Seen Seen;
        public int TimeoutTicks;

        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch) => Interlocked.Increment(ref Seen.Count);

        public void OnTimeout(long sequence) => TimeoutTicks++;

        public void OnShutdown()
        {
        }
    }

    [Fact]
    public void AWaitingConsumer_WakesForEachPublishedEvent()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        var sequencer = EventGraph<TestSlot, TWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, TWait>(ring, sequencer);
        var seen = new Seen();
        graph.Add("waiter", new CountingHandler { Seen = seen });
        graph.Start();

        for (int i = 1; i <= 3; i++)
        {
            // Give the consumer time to reach its deepest wait (a park, for the parking strategies).
            Thread.Sleep(50);
            sequencer.Publish(sequencer.Next());
            int expected = i;
            Assert.True(Wait.Until(() => Volatile.Read(ref seen.Count) == expected, TimeSpan.FromSeconds(10)),
                $"event {i} was published but the waiting consumer never saw it");
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the consumer did not stop");
    }

    [Fact]
    public void AnIdleConsumer_GetsTimeoutTicks()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        var sequencer = EventGraph<TestSlot, TWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, TWait>(ring, sequencer);
        Stage stage = graph.Add("idle", new CountingHandler { Seen = new Seen() }, idleTimeout: TimeSpan.FromMilliseconds(5));
        graph.Start();
        var processor = (BatchEventProcessor<TestSlot, CountingHandler, TWait>)stage.Processor;

        Assert.True(Wait.Until(() => Volatile.Read(ref processor.Handler.TimeoutTicks) >= 3, TimeSpan.FromSeconds(10)),
            "an idle consumer with a 5 ms idle timeout was not ticked");
        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the consumer did not stop");
    }

    [Fact]
    public void Halt_WakesAWaitingConsumer()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        var sequencer = EventGraph<TestSlot, TWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, TWait>(ring, sequencer);
        Stage stage = graph.Add("waiter", new CountingHandler { Seen = new Seen() });
        graph.Start();
        Thread.Sleep(50);

        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "halt did not wake the waiting consumer");
        Assert.False(stage.Thread.IsAlive, "the consumer thread is still alive after halt");
    }
}

public sealed class BusySpinWaitTests : WaitStrategyContractTests<BusySpinWait>;

public sealed class YieldingWaitTests : WaitStrategyContractTests<YieldingWait>;

public sealed class SleepingWaitTests : WaitStrategyContractTests<SleepingWait>;

public sealed class BlockingWaitTests : WaitStrategyContractTests<BlockingWait>
{
    private struct Nothing : IEventHandler<TestSlot>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    [Fact]
    public void AParkedConsumer_UsesNoCpuWhileIdle()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        var sequencer = EventGraph<TestSlot, BlockingWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, BlockingWait>(ring, sequencer);
        Stage stage = graph.Add("parked", new Nothing());
        graph.Start();
        int tid = stage.Thread.NativeThreadId;
        Thread.Sleep(100);

        long before = ThreadCpu.Ticks(tid);
        Thread.Sleep(1000);
        long after = ThreadCpu.Ticks(tid);

        // Clock ticks are 10 ms: a spinning thread would show ~100 here, a parked one 0.
        Assert.True(after - before <= 1, $"an idle blocking consumer used {after - before} ticks of CPU in 1 s");
        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the consumer did not stop");
    }
}

public sealed class AdaptiveWaitTests : WaitStrategyContractTests<AdaptiveWait>
{
    private struct Nothing : IEventHandler<TestSlot>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    [Fact]
    public void AnIdleConsumer_BacksOffToAParkAndUsesNoCpu()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        var sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(16, multiProducer: false);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        Stage stage = graph.Add("adaptive", new Nothing());
        graph.Start();
        int tid = stage.Thread.NativeThreadId;
        Thread.Sleep(100);

        long before = ThreadCpu.Ticks(tid);
        Thread.Sleep(1000);
        long after = ThreadCpu.Ticks(tid);

        Assert.True(after - before <= 1, $"an idle adaptive consumer used {after - before} ticks of CPU in 1 s");
        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the consumer did not stop");
    }
}

/// <summary>The adaptive strategy's spin budget: wasted spinning shrinks it, useful spinning grows it.</summary>
public sealed class AdaptiveBudgetTests
{
    [Fact]
    public void ParkingShrinksTheBudget_AndFindingWorkWhileSpinningGrowsItBack()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        var sequencer = (SingleProducerSequencer)EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(16, multiProducer: false);
        var consumed = new Sequence();
        sequencer.SetGatingSequences([consumed]);
        SequenceBarrier barrier = sequencer.NewBarrier();
        var wait = new AdaptiveWait();

        // Nothing is ever published: every wait spins its budget away, parks and times out.
        int previous = int.MaxValue;
        for (int i = 0; i < 12; i++)
        {
            long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency / 1000;
            Assert.Equal(WaitResult.TimedOut, wait.WaitFor(0, barrier, deadline));
            Assert.True(wait.Budget <= previous, $"budget grew from {previous} to {wait.Budget} after a park");
            previous = wait.Budget;
        }

        Assert.Equal(2, wait.Budget);

        // A publisher that publishes each event as soon as the consumer asks for it: spinning finds
        // work (first on a full-budget probe, one wait in 16), and the budget grows back.
        using var stop = new CancellationTokenSource();
        long next = 0;
        var publisher = new Thread(() =>
        {
            // Background, so that a failed assertion below cannot leave it running.
            while (!stop.IsCancellationRequested)
            {
                if (sequencer.Cursor.Value < Volatile.Read(ref next))
                {
                    sequencer.Publish(sequencer.Next());
                }
            }
        })
        { IsBackground = true };
        publisher.Start();
        try
        {
            for (int i = 0; i < 2_000 && wait.Budget < 16; i++)
            {
                long want = Volatile.Read(ref next);
                long got = wait.WaitFor(want, barrier, long.MaxValue);
                Assert.True(got >= want, $"waited for {want}, got {got}");
                consumed.SetValue(got);
                Volatile.Write(ref next, got + 1);
            }
        }
        finally
        {
            stop.Cancel();
            publisher.Join();
        }

        Assert.True(wait.Budget >= 16, $"budget stayed at {wait.Budget} although spinning kept finding work");
    }
}

/// <summary>What a consumer's wait strategy knows lives in its own instance, set by its graph.</summary>
public sealed class AdaptiveConfigurationTests
{
    private struct Nothing : IEventHandler<TestSlot>
    {
        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
        }

        public readonly void OnTimeout(long sequence)
        {
        }

        public readonly void OnShutdown()
        {
        }
    }

    [Fact]
    public void WhenThreadsOutnumberCores_TheWaiterNeverSpins()
    {
        var crowded = new AdaptiveWait();
        var roomy = new AdaptiveWait();
        crowded.Configure(new WaitContext(BusyThreads: 8, Cores: 2));
        roomy.Configure(new WaitContext(BusyThreads: 2, Cores: 2));

        Assert.True(crowded.SpinTries == 0, $"with 8 busy threads on 2 cores the waiter spins {crowded.SpinTries} times");
        Assert.True(roomy.SpinTries > 0, "with a core per busy thread the waiter does not spin at all");
    }

    [Fact]
    public void StartingAGraph_ConfiguresItsOwnStages_AndLeavesAnotherGraphsAlone()
    {
        using var ring = new RingBuffer<TestSlot>(16);
        using var otherRing = new RingBuffer<TestSlot>(16);
        using var roomy = new EventGraph<TestSlot, AdaptiveWait>(ring, EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(16, false));
        using var crowded = new EventGraph<TestSlot, AdaptiveWait>(otherRing, EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(16, false));
        Stage alone = roomy.Add("alone", new Nothing());
        Stage packed = crowded.Add("packed", new Nothing());
        roomy.ExternalThreads = 0;
        crowded.ExternalThreads = Environment.ProcessorCount * 4;
        roomy.Start();
        crowded.Start();

        var roomyProcessor = (BatchEventProcessor<TestSlot, Nothing, AdaptiveWait>)alone.Processor;
        var crowdedProcessor = (BatchEventProcessor<TestSlot, Nothing, AdaptiveWait>)packed.Processor;
        Assert.True(crowdedProcessor.WaitStrategy.SpinTries == 0, "a stage of an oversubscribed graph was left spinning");
        Assert.True(roomyProcessor.WaitStrategy.SpinTries > 0,
            "starting an oversubscribed graph changed how another graph's running stage waits");
        Assert.True(roomy.Halt(TimeSpan.FromSeconds(10)) && crowded.Halt(TimeSpan.FromSeconds(10)), "the stages did not stop");
    }
}
