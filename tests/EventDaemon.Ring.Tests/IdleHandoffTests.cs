using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Ring.Tests;

/// <summary>Idle hand-off: a producer that publishes while a first-level stage's thread is parked
/// runs the batch itself; every event is still processed once, in order, by one thread at a time.</summary>
[Collection(AllocationMeasurements.Name)]
public sealed class IdleHandoffTests
{
    internal sealed class Log
    {
        public long Seen;
        public long OutOfOrder;
        public long Overlaps;
        public long Timeouts;
        public int Inside;
        public readonly HashSet<int> EventThreads = [];
        public readonly HashSet<int> TimeoutThreads = [];
    }

    /// <summary>Checks order, counts events, and notices two threads inside the handler at once.</summary>
    private struct Recorder : IEventHandler<TestSlot>
    {
        public Log Log;
        private long _expected;

        public readonly void OnStart()
        {
        }

        public void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            if (Interlocked.Increment(ref Log.Inside) != 1)
            {
                Interlocked.Increment(ref Log.Overlaps);
            }

            if (sequence != _expected || slot.Value != sequence)
            {
                Log.OutOfOrder++;
            }

            _expected = sequence + 1;
            slot.StageA = sequence;
            Log.Seen++;
            // One holder at a time (checked above), so no lock: a contended lock could allocate.
            Log.EventThreads.Add(Environment.CurrentManagedThreadId);

            Interlocked.Decrement(ref Log.Inside);
        }

        public readonly void OnTimeout(long sequence)
        {
            Log.TimeoutThreads.Add(Environment.CurrentManagedThreadId);
            Interlocked.Increment(ref Log.Timeouts);
        }

        public readonly void OnShutdown()
        {
        }
    }

    /// <summary>Second stage: must see the first stage's stamp, wherever the first one ran.</summary>
    private struct After : IEventHandler<TestSlot>
    {
        public Log Log;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            if (slot.StageA != sequence)
            {
                Log.OutOfOrder++;
            }

            Log.Seen++;
        }

        public readonly void OnTimeout(long sequence)
        {
        }

        public readonly void OnShutdown()
        {
        }
    }

    /// <summary>A started one-stage graph running a <see cref="Recorder"/>.</summary>
    private sealed class OneStage : IDisposable
    {
        private readonly RingBuffer<TestSlot> _ring;
        private readonly Sequencer _sequencer;
        private readonly EventGraph<TestSlot, AdaptiveWait> _graph;
        private readonly Log _log = new();
        private readonly Stage _stage;

        public OneStage(int size, bool handoff, TimeSpan? idleTimeout = null)
        {
            _ring = new RingBuffer<TestSlot>(size);
            _sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(size, multiProducer: false);
            _graph = new EventGraph<TestSlot, AdaptiveWait>(_ring, _sequencer);
            _stage = _graph.Add("stage", new Recorder { Log = _log }, idleTimeout: idleTimeout);
            if (handoff)
            {
                _graph.EnableIdleHandoff();
            }

            _graph.Start();
        }

        public void Deconstruct(out Sequencer sequencer, out RingBuffer<TestSlot> ring,
            out EventGraph<TestSlot, AdaptiveWait> graph, out Log log, out Stage stage)
        {
            sequencer = _sequencer;
            ring = _ring;
            graph = _graph;
            log = _log;
            stage = _stage;
        }

        public void Dispose()
        {
            _graph.Dispose();
            _ring.Dispose();
        }
    }

    private static BatchEventProcessor<TestSlot, Recorder, AdaptiveWait> Processor(Stage stage) =>
        (BatchEventProcessor<TestSlot, Recorder, AdaptiveWait>)stage.Processor;

    private static void PublishOne(Sequencer sequencer, RingBuffer<TestSlot> ring)
    {
        long s = sequencer.Next();
        ring[s].Value = s;
        sequencer.PublishForHandoff(s);
        sequencer.RunIdleStages();
    }

    [Fact]
    public void ParkedStage_IsRunByThePublishingProducer()
    {
        const int events = 200;
        using var one = new OneStage(1024, handoff: true);
        var (sequencer, ring, graph, log, stage) = one;

        for (int i = 0; i < events; i++)
        {
            // Long enough for the stage's thread to give up spinning and park.
            Thread.Sleep(2);
            PublishOne(sequencer, ring);
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stage did not stop");
        Assert.True(log.Seen == events && log.OutOfOrder == 0, $"saw {log.Seen} of {events}, {log.OutOfOrder} out of order");
        Assert.True(log.Overlaps == 0, $"{log.Overlaps} events ran while another thread was inside the handler");
        Assert.True(Processor(stage).HandedOffBatches > 0, "no batch ran on the producer although the stage was idle between events");
        Assert.Contains(Environment.CurrentManagedThreadId, log.EventThreads);
        Assert.True(stage.Position == events - 1, $"stage stopped at {stage.Position}");
    }

    [Fact]
    public void ABacklog_IsLeftToTheStageThread()
    {
        using var one = new OneStage(1024, handoff: true);
        var (sequencer, ring, graph, log, stage) = one;
        Thread.Sleep(20);

        // A batch of MaxBatch events, published at once while the stage is parked: load, not a trickle.
        long low = sequencer.Next(IdleHandoff.MaxBatch) - IdleHandoff.MaxBatch + 1;
        for (long s = low; s < low + IdleHandoff.MaxBatch; s++)
        {
            ring[s].Value = s;
        }

        for (long s = low; s < low + IdleHandoff.MaxBatch; s++)
        {
            sequencer.PublishForHandoff(s);
        }

        sequencer.RunIdleStages();

        Assert.True(Wait.Until(() => stage.Position == IdleHandoff.MaxBatch - 1, TimeSpan.FromSeconds(10)),
            $"the stage's thread did not take the backlog: position {stage.Position}");
        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stage did not stop");
        Assert.True(log.Seen == IdleHandoff.MaxBatch && log.OutOfOrder == 0, $"saw {log.Seen}, {log.OutOfOrder} out of order");
        Assert.True(Processor(stage).HandedOffBatches == 0, "the producer ran a backlog of MaxBatch events itself");
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, log.EventThreads);
    }

    [Fact]
    public void APlainPublish_WakesTheStageThread()
    {
        using var one = new OneStage(64, handoff: true);
        var (sequencer, ring, graph, log, stage) = one;

        // Producers that do not run stages (datagram sources) publish plainly: the stage, asleep
        // on its own signal while lent, must still be woken for them.
        for (int i = 0; i < 20; i++)
        {
            Thread.Sleep(2);
            long s = sequencer.Next();
            ring[s].Value = s;
            sequencer.Publish(s);
            Assert.True(Wait.Until(() => stage.Position == s, TimeSpan.FromSeconds(10)), $"event {s} was not processed");
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stage did not stop");
        Assert.True(log.Seen == 20 && Processor(stage).HandedOffBatches == 0, $"saw {log.Seen}, {Processor(stage).HandedOffBatches} handed off");
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, log.EventThreads);
    }

    [Fact]
    public void WithoutHandoff_TheStageThreadRunsEverything()
    {
        using var one = new OneStage(1024, handoff: false);
        var (sequencer, ring, graph, log, stage) = one;

        for (int i = 0; i < 20; i++)
        {
            Thread.Sleep(2);
            PublishOne(sequencer, ring);
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stage did not stop");
        Assert.True(log.Seen == 20, $"saw {log.Seen} of 20");
        Assert.True(Processor(stage).HandedOffBatches == 0, "a batch ran on the producer without hand-off enabled");
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, log.EventThreads);
    }

    [Fact]
    public void ManyProducers_EveryEventOnceInOrder_AndDependantsSeeIt()
    {
        const int producers = 3;
        const int perProducer = 20_000;
        using var ring = new RingBuffer<TestSlot>(256);
        var sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(256, multiProducer: true);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        var first = new Log();
        var second = new Log();
        Stage a = graph.Add("first", new Recorder { Log = first });
        graph.Add("second", new After { Log = second }, after: [a]);
        graph.EnableIdleHandoff();
        graph.Start();

        var threads = new Thread[producers];
        for (int p = 0; p < producers; p++)
        {
            int seed = p;
            threads[p] = new Thread(() =>
            {
                var random = new Random(seed);
                for (int i = 0; i < perProducer; i++)
                {
                    PublishOne(sequencer, ring);
                    // Bursts and pauses, so the stage alternates between running and parking.
                    int pause = random.Next(256);
                    if (pause == 0)
                    {
                        Thread.Sleep(1);
                    }
                    else if (pause < 8)
                    {
                        Thread.Yield();
                    }
                }
            })
            { IsBackground = true };
            threads[p].Start();
        }

        foreach (Thread t in threads)
        {
            Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a producer did not finish");
        }

        const long total = producers * perProducer;
        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stages did not stop");
        Assert.True(first.Seen == total && first.OutOfOrder == 0, $"first saw {first.Seen} of {total}, {first.OutOfOrder} out of order");
        Assert.True(first.Overlaps == 0, $"{first.Overlaps} events ran while another thread was inside the handler");
        Assert.True(second.Seen == total && second.OutOfOrder == 0, $"second saw {second.Seen} of {total}, {second.OutOfOrder} before the first stage");
        Assert.True(a.Position == total - 1, $"first stopped at {a.Position}");
    }

    [Fact]
    public void HaltedStage_IsNeverRunByProducers()
    {
        using var one = new OneStage(64, handoff: true);
        var (sequencer, ring, graph, log, stage) = one;
        Thread.Sleep(5);
        PublishOne(sequencer, ring);
        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stage did not stop");
        long seen = log.Seen;

        PublishOne(sequencer, ring);

        Assert.True(seen == 1 && log.Seen == 1, $"saw {log.Seen} events, 1 before the halt");
        Assert.True(stage.Position == 0, $"stage moved to {stage.Position} after it halted");
    }

    [Fact]
    public void IdleTimeout_TicksOnTheStageThread()
    {
        using var one = new OneStage(64, handoff: true, idleTimeout: TimeSpan.FromMilliseconds(5));
        var (sequencer, ring, graph, log, _) = one;

        for (int i = 0; i < 5; i++)
        {
            Thread.Sleep(3);
            PublishOne(sequencer, ring);
        }

        Assert.True(Wait.Until(() => Interlocked.Read(ref log.Timeouts) >= 3, TimeSpan.FromSeconds(10)), "no timeout ticks");
        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stage did not stop");
        Assert.True(log.Seen == 5, $"saw {log.Seen} of 5");
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, log.TimeoutThreads);
    }

    [Fact]
    public void EnablingAfterStart_Throws()
    {
        using var ring = new RingBuffer<TestSlot>(64);
        var sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(64, multiProducer: false);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        graph.Add("stage", new Recorder { Log = new Log() });
        graph.Start();
        Assert.Throws<InvalidOperationException>(graph.EnableIdleHandoff);
    }

    private sealed class HandBackLog
    {
        public long Seen;
        public long Timeouts;
        public int HandBacks;
        public int ProducerEvents;
        public bool HandBackOnOwnThread = true;
        public int TimeoutThread;
        public readonly ManualResetEventSlim Release = new(false);
        public readonly ConcurrentQueue<int> EventThreads = new();
    }

    /// <summary>Hands the first batch it runs on a producer's thread back, then blocks its timeout
    /// turn until the test releases it.</summary>
    private struct HandsBack : IEventHandler<TestSlot>
    {
        public HandBackLog Log;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            Log.Seen++;
            Log.EventThreads.Enqueue(Environment.CurrentManagedThreadId);
            if (StageHandoff.OnProducerThread)
            {
                Log.ProducerEvents++;
                if (Log.HandBacks == 0 && StageHandoff.TryHandBack())
                {
                    Log.HandBacks++;
                }
            }
        }

        public readonly void OnTimeout(long sequence)
        {
            Log.TimeoutThread = Environment.CurrentManagedThreadId;
            Log.HandBackOnOwnThread = StageHandoff.TryHandBack();
            Log.Release.Wait(TimeSpan.FromSeconds(30));
            Interlocked.Increment(ref Log.Timeouts);
        }

        public readonly void OnShutdown()
        {
        }
    }

    [Fact]
    public void AHandlerThatHandsBack_GetsItsTurnOnItsOwnThread_AndProducersWaitForIt()
    {
        using var ring = new RingBuffer<TestSlot>(64);
        var sequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(64, multiProducer: false);
        using var graph = new EventGraph<TestSlot, AdaptiveWait>(ring, sequencer);
        var log = new HandBackLog();
        Stage stage = graph.Add("stage", new HandsBack { Log = log });
        graph.EnableIdleHandoff();
        graph.Start();
        int me = Environment.CurrentManagedThreadId;

        // Parked: the producer runs the first event, and the handler hands the stage back.
        Thread.Sleep(20);
        PublishOne(sequencer, ring);
        Assert.True(log.HandBacks == 1 && log.ProducerEvents == 1, $"the producer did not run the first event: {log.ProducerEvents} run, {log.HandBacks} handed back");

        // The stage's thread takes its turn (no idle timeout is configured: only the hand-back asks
        // for it), and while that turn lasts producers do not run the stage.
        Assert.True(Wait.Until(() => log.TimeoutThread != 0, TimeSpan.FromSeconds(10)), "the stage's thread never took its turn");
        for (int i = 0; i < 5; i++)
        {
            PublishOne(sequencer, ring);
        }

        Assert.True(log.ProducerEvents == 1 && log.Seen == 1, $"producers ran {log.ProducerEvents - 1} events during the stage's turn");
        log.Release.Set();
        Assert.True(Wait.Until(() => stage.Position == 5, TimeSpan.FromSeconds(10)), $"the stage's thread did not run what came during its turn: position {stage.Position}");

        // After the turn, a parked stage is run by producers again.
        for (int i = 0; i < 20; i++)
        {
            Thread.Sleep(2);
            PublishOne(sequencer, ring);
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stage did not stop");
        Assert.True(log.Seen == 26, $"saw {log.Seen} of 26");
        Assert.True(log.TimeoutThread != me, "the turn ran on the producer's thread");
        Assert.False(log.HandBackOnOwnThread, "TryHandBack said yes on the stage's own thread");
        Assert.True(log.Timeouts == 1, $"{log.Timeouts} timeout turns, 1 expected (no idle timeout is configured)");
        Assert.True(log.ProducerEvents > 1, "producers never ran the stage again after its turn");
        Assert.False(StageHandoff.OnProducerThread, "the producer still counts as running a stage after the batch");
    }

    /// <summary>Optimized from the start: a loop left to tiered compilation is replaced on the
    /// stack mid-run (OSR), and that transition allocates a few bytes on the thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long PublishInBursts(Sequencer sequencer, RingBuffer<TestSlot> ring)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int burst = 0; burst < 200; burst++)
        {
            Thread.Sleep(1);
            for (int i = 0; i < 100; i++)
            {
                PublishOne(sequencer, ring);
            }
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void HandedOffSteadyState_AllocatesNothingAndCollectsNothing()
    {
        using var one = new OneStage(1024, handoff: true);
        var (sequencer, ring, graph, log, stage) = one;

        // Warm up both paths (the stage's own thread and the producer's), then measure the producer:
        // it publishes in bursts with pauses, running the stage whenever it finds it parked.
        for (int i = 0; i < 20; i++)
        {
            Thread.Sleep(1);
            PublishOne(sequencer, ring);
        }

        using var gc = CollectionWatch.Start();
        long handedBefore = Processor(stage).HandedOffBatches;
        long allocated = PublishInBursts(sequencer, ring);
        long handed = Processor(stage).HandedOffBatches - handedBefore;

        Assert.True(graph.Halt(TimeSpan.FromSeconds(30)), "stage did not stop");
        Assert.True(log.Seen == 20_020 && log.OutOfOrder == 0, $"saw {log.Seen} of 20020, {log.OutOfOrder} out of order");
        Assert.True(handed > 0, "the producer never ran the stage");
        Assert.True(allocated == 0, $"the producer allocated {allocated} bytes publishing and running {handed} batches");
        Assert.True(gc.Collections == 0, $"collections happened during the run: {gc.Describe()}");
    }

    internal sealed class NestLog
    {
        public Sequencer Inner = null!;
        public RingBuffer<TestSlot> InnerRing = null!;
        public IEventProcessor InnerStage = null!;
        public int Nested;
        public bool OuterStillOnProducer = true;
        public bool OuterHandedBack = true;
        public int TimeoutThread;
    }

    /// <summary>A stage that publishes into a second ring from inside its batch, as a route to
    /// another ring does, and so may run that ring's idle stage nested in its own lease.</summary>
    private struct PublishesOnward : IEventHandler<TestSlot>
    {
        public NestLog Log;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch)
        {
            bool outer = StageHandoff.OnProducerThread;
            long innerBefore = Log.InnerStage.HandedOffBatches;
            PublishOne(Log.Inner, Log.InnerRing);
            if (outer && Log.InnerStage.HandedOffBatches > innerBefore && Log.Nested == 0)
            {
                // The inner stage ran on this thread inside this batch and gave its lease back.
                Log.Nested++;
                Log.OuterStillOnProducer = StageHandoff.OnProducerThread;
                Log.OuterHandedBack = StageHandoff.TryHandBack();
            }
        }

        public readonly void OnTimeout(long sequence) => Log.TimeoutThread = Environment.CurrentManagedThreadId;

        public readonly void OnShutdown()
        {
        }
    }

    [Fact]
    public void ANestedBorrow_GivesTheOuterLeaseBack_SoTheOuterStageCanStillHandBack()
    {
        using var outerRing = new RingBuffer<TestSlot>(64);
        using var innerRing = new RingBuffer<TestSlot>(64);
        var outerSequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(64, multiProducer: false);
        var innerSequencer = EventGraph<TestSlot, AdaptiveWait>.CreateSequencer(64, multiProducer: false);
        using var inner = new EventGraph<TestSlot, AdaptiveWait>(innerRing, innerSequencer);
        using var outer = new EventGraph<TestSlot, AdaptiveWait>(outerRing, outerSequencer);
        var innerLog = new Log();
        Stage innerStage = inner.Add("inner", new Recorder { Log = innerLog });
        var log = new NestLog { Inner = innerSequencer, InnerRing = innerRing, InnerStage = innerStage.Processor };
        Stage outerStage = outer.Add("outer", new PublishesOnward { Log = log });
        inner.EnableIdleHandoff();
        outer.EnableIdleHandoff();
        inner.Start();
        outer.Start();

        // Publish while both stages sleep lent, until one batch of the outer stage has run the inner
        // stage nested inside it on this thread.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (log.Nested == 0 && DateTime.UtcNow < deadline)
        {
            Assert.True(Wait.Until(() => outerStage.Processor.Barrier.Handoff!.IsLent && innerStage.Processor.Barrier.Handoff!.IsLent,
                TimeSpan.FromSeconds(10)), "the stages never went to sleep lent to producers");
            PublishOne(outerSequencer, outerRing);
        }

        Assert.True(log.Nested == 1, "no outer batch ever ran the inner stage nested on the producer's thread");
        Assert.True(log.OuterStillOnProducer, "after the nested batch the outer handler no longer knew it ran on a producer's thread");
        Assert.True(log.OuterHandedBack, "after the nested batch the outer handler could not hand its stage back");
        Assert.True(Wait.Until(() => Volatile.Read(ref log.TimeoutThread) != 0, TimeSpan.FromSeconds(10)),
            "the handed-back outer stage never got its turn on its own thread");
        Assert.True(log.TimeoutThread != Environment.CurrentManagedThreadId, "the outer stage's turn ran on the producer's thread");
        Assert.False(StageHandoff.OnProducerThread, "the producer still holds a lease after both batches");
        Assert.True(outer.Halt(TimeSpan.FromSeconds(10)) && inner.Halt(TimeSpan.FromSeconds(10)), "the stages did not stop");
    }
}
