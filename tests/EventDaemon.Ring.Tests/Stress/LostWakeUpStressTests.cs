using System.Diagnostics;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;
using Xunit;

namespace EventDaemon.Ring.Tests.Stress;

/// <summary>
/// The sleep/wake handshake under a stress loop: tiny rings, parking strategies, producers that
/// alternate bursts with pauses, so that stages and producers go to sleep and are woken millions of
/// times. A lost wake-up shows as a park that slept out its timeout although the sequence it slept
/// on moved after it registered and no wake-up was issued (a test hook counts those), whatever the
/// machine's load. Each case runs for a bounded time.
/// </summary>
public sealed class LostWakeUpStressTests
{
    private static readonly TimeSpan RunFor = TimeSpan.FromSeconds(3);

    internal sealed class Counter
    {
        public long Seen;
    }

    private struct Count : IEventHandler<TestSlot>
    {
        public Counter Counter;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref TestSlot slot, long sequence, bool endOfBatch) => Counter.Seen++;

        public readonly void OnTimeout(long sequence)
        {
        }

        public readonly void OnShutdown()
        {
        }
    }

    [Fact]
    public void APipelineOfParkingStages_NeverLosesAWakeUp() =>
        Run<BlockingWait>(multiProducer: false, producers: 1, handoff: false, graph =>
        {
            Stage a = graph.Add("a", new Count { Counter = new Counter() });
            Stage b = graph.Add("b", new Count { Counter = new Counter() }, after: [a]);
            graph.Add("c", new Count { Counter = new Counter() }, after: [b]);
        });

    [Fact]
    public void ADiamondUnderThreeProducers_NeverLosesAWakeUp() =>
        Run<AdaptiveWait>(multiProducer: true, producers: 3, handoff: false, graph =>
        {
            Stage a = graph.Add("a", new Count { Counter = new Counter() });
            Stage b = graph.Add("b", new Count { Counter = new Counter() });
            graph.Add("join", new Count { Counter = new Counter() }, after: [a, b]);
        });

    [Fact]
    public void StagesLentToProducers_NeverLoseAWakeUp() =>
        Run<AdaptiveWait>(multiProducer: false, producers: 1, handoff: true, graph =>
        {
            Stage a = graph.Add("a", new Count { Counter = new Counter() });
            graph.Add("b", new Count { Counter = new Counter() }, after: [a]);
        });

    private static void Run<TWait>(bool multiProducer, int producers, bool handoff, Action<EventGraph<TestSlot, TWait>> build)
        where TWait : struct, IWaitStrategy
    {
        using var ring = new RingBuffer<TestSlot>(8);
        Sequencer sequencer = EventGraph<TestSlot, TWait>.CreateSequencer(8, multiProducer);
        using var graph = new EventGraph<TestSlot, TWait>(ring, sequencer);
        build(graph);
        if (handoff)
        {
            graph.EnableIdleHandoff();
        }

        graph.ExternalThreads = producers;
        graph.Start();
        var published = new long[producers];
        var threads = new Thread[producers];
        for (int p = 0; p < producers; p++)
        {
            int id = p;
            threads[p] = new Thread(() => published[id] = Produce(sequencer, ring, handoff, id)) { IsBackground = true };
            threads[p].Start();
        }

        foreach (Thread t in threads)
        {
            Assert.True(t.Join(RunFor * 20), "a producer never finished: it waited for space that was never signalled");
        }

        long total = published.Sum();
        foreach (Stage stage in graph.Stages)
        {
            Assert.True(Wait.Until(() => stage.Position == total - 1, TimeSpan.FromSeconds(30)),
                $"stage '{stage.Name}' stopped at {stage.Position} of {total - 1}: a wake-up was lost");
        }

        Assert.True(graph.Halt(TimeSpan.FromSeconds(10)), "the stages did not stop");
        foreach (Stage stage in graph.Stages)
        {
            long lost = stage.Processor.Barrier.LostWakeUps;
            Assert.True(lost == 0, $"stage '{stage.Name}' slept out its timeout {lost} times although what it slept on had moved");
        }

        Assert.True(total > 1000, $"only {total} events in {RunFor}: the stress loop did not run");
    }

    /// <summary>Bursts of 1..16 events with a yield or a short spin between them, until the time is up.</summary>
    private static long Produce(Sequencer sequencer, RingBuffer<TestSlot> ring, bool handoff, int seed)
    {
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        long count = 0;
        while (clock.Elapsed < RunFor)
        {
            int burst = random.Next(1, 17);
            for (int i = 0; i < burst; i++)
            {
                long s = sequencer.Next();
                ring[s].Value = s;
                if (handoff)
                {
                    sequencer.PublishForHandoff(s);
                    sequencer.RunIdleStages();
                }
                else
                {
                    sequencer.Publish(s);
                }

                count++;
            }

            if (random.Next(4) == 0)
            {
                Thread.Yield();
            }
            else
            {
                Thread.SpinWait(random.Next(1, 200));
            }
        }

        return count;
    }
}
