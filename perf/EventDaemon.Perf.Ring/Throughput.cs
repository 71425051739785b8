using EventDaemon.Ring;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Perf.Ring;

/// <summary>Per-event work for every consumer: fold the value into a running checksum.</summary>
internal struct Sum : IEventHandler<Slot>
{
    public long Total;

    public readonly void OnStart()
    {
    }

    public void OnEvent(ref Slot slot, long sequence, bool endOfBatch) => Total += slot.Value;

    public readonly void OnTimeout(long sequence)
    {
    }

    public readonly void OnShutdown()
    {
    }
}

/// <summary>A pipeline stage: adds one to the value it passes on.</summary>
internal struct Increment : IEventHandler<Slot>
{
    public readonly void OnStart()
    {
    }

    public readonly void OnEvent(ref Slot slot, long sequence, bool endOfBatch) => slot.Value++;

    public readonly void OnTimeout(long sequence)
    {
    }

    public readonly void OnShutdown()
    {
    }
}

/// <summary>The ring scenarios under one wait strategy, each on a fresh ring and graph.</summary>
internal static class Throughput<TWait>
    where TWait : struct, IWaitStrategy
{
    private const int RingSize = 1 << 16;

    public static Result Run(string scenario, long events) => scenario switch
    {
        "1p1c" => RunRing(events, producers: 1, graph => graph.Add("sum", new Sum())),
        "1p1c-batched" => Batched(events),
        "pipeline" => RunRing(events, producers: 1, graph =>
        {
            Stage a = graph.Add("inc-1", new Increment());
            Stage b = graph.Add("inc-2", new Increment(), after: [a]);
            graph.Add("sum", new Sum(), after: [b]);
        }),
        "multicast" => RunRing(events, producers: 1, graph =>
        {
            graph.Add("sum-1", new Sum());
            graph.Add("sum-2", new Sum());
            graph.Add("sum-3", new Sum());
        }),
        "3p1c" => RunRing(events, producers: 3, graph => graph.Add("sum", new Sum())),
        _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, "unknown scenario"),
    };

    /// <summary>As sources publish: a run of events claimed and published together (one cursor write per run).</summary>
    private static Result Batched(long events)
    {
        const int batch = 100;
        using var ring = new RingBuffer<Slot>(RingSize);
        Sequencer sequencer = EventGraph<Slot, TWait>.CreateSequencer(RingSize, multiProducer: false);
        using var graph = new EventGraph<Slot, TWait>(ring, sequencer);
        graph.Add("sum", new Sum());
        graph.Start();
        return Result.Measure(events, () =>
        {
            for (long i = 0; i < events; i += batch)
            {
                long high = sequencer.Next(batch);
                for (long s = high - batch + 1; s <= high; s++)
                {
                    ring[s].Value = s;
                }

                sequencer.Publish(high - batch + 1, high);
            }

            graph.Halt(TimeSpan.FromMinutes(1));
            return Delivered(graph, (events + batch - 1) / batch * batch);
        });
    }

    private static Result RunRing(long events, int producers, Action<EventGraph<Slot, TWait>> build)
    {
        using var ring = new RingBuffer<Slot>(RingSize);
        Sequencer sequencer = EventGraph<Slot, TWait>.CreateSequencer(RingSize, multiProducer: producers > 1);
        using var graph = new EventGraph<Slot, TWait>(ring, sequencer);
        build(graph);
        // The producers want cores too: with the stages they decide whether waiters may spin.
        graph.ExternalThreads = producers;
        graph.Start();
        return Result.Measure(events, () =>
        {
            long perProducer = events / producers;
            var threads = new Thread[producers];
            for (int p = 0; p < producers; p++)
            {
                threads[p] = sequencer is SingleProducerSequencer single
                    ? new Thread(() => PublishEach(single, ring, perProducer))
                    : new Thread(() => PublishEach((MultiProducerSequencer)sequencer, ring, perProducer));
                threads[p].Start();
            }

            foreach (Thread t in threads)
            {
                t.Join();
            }

            graph.Halt(TimeSpan.FromMinutes(1));
            return Delivered(graph, perProducer * producers);
        });
    }

    /// <summary>Checks that every stage saw every event, so a fast figure cannot come from a lost one.</summary>
    private static long Delivered(EventGraph<Slot, TWait> graph, long published)
    {
        foreach (Stage stage in graph.Stages)
        {
            if (stage.Position != published - 1)
            {
                throw new InvalidOperationException($"stage '{stage.Name}' reached {stage.Position}, expected {published - 1}");
            }
        }

        return published;
    }

    /// <summary>One claim and one publish per event, through the sealed type as a source holds it:
    /// direct calls the compiler can inline.</summary>
    private static void PublishEach(SingleProducerSequencer sequencer, RingBuffer<Slot> ring, long events)
    {
        for (long i = 0; i < events; i++)
        {
            long s = sequencer.Next();
            ring[s].Value = i;
            sequencer.Publish(s);
        }
    }

    private static void PublishEach(MultiProducerSequencer sequencer, RingBuffer<Slot> ring, long events)
    {
        for (long i = 0; i < events; i++)
        {
            long s = sequencer.Next();
            ring[s].Value = i;
            sequencer.Publish(s);
        }
    }
}
