using EventDaemon.Ring;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring.AotSmoke;

/// <summary>
/// Runs the ring as the Native AOT daemon will: generic struct handlers and wait strategies,
/// native memory, pinned threads. Exit code 0 only if every check holds.
/// <c>lock BYTES</c> instead asks for a locked region and prints the outcome, so the test path can
/// run it under a zero RLIMIT_MEMLOCK and expect a warning rather than a failure.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["lock", var size])
        {
            using NativeRegion region = NativeRegion.Allocate(long.Parse(size), lockMemory: true);
            Console.WriteLine(region.IsLocked ? "locked" : $"warning: {region.LockWarning}");
            return 0;
        }

        int failures = 0;
        failures += Check("single producer, 2-stage chain", RunChain(new SingleProducerSequencer(1024, true), 2_000_000));
        failures += Check("multi producer, 2-stage chain", RunChain(new MultiProducerSequencer(1024, true), 2_000_000));
        failures += Check("pinned consumer", RunPinned());
        Console.WriteLine(failures == 0 ? "aot smoke: all checks passed" : $"aot smoke: {failures} checks failed");
        return failures == 0 ? 0 : 1;
    }

    private static int Check(string name, string? error)
    {
        Console.WriteLine(error is null ? $"ok   {name}" : $"FAIL {name}: {error}");
        return error is null ? 0 : 1;
    }

    private static string? RunChain(Sequencer sequencer, long events)
    {
        using var ring = new RingBuffer<Slot>(sequencer.BufferSize);
        using var graph = new EventGraph<Slot, AdaptiveWait>(ring, sequencer);
        Stage first = graph.Add("smoke-first", new Doubler());
        Stage second = graph.Add("smoke-second", new Summer(), after: [first]);
        graph.Start();

        // The first pass warms up what the runtime creates once (the monitor a parked producer
        // waits on, for instance); the measured pass must then allocate nothing.
        const long warmup = 100_000;
        long allocated = 0;
        ParkOnce(sequencer);
        for (long i = 0; i < events; i++)
        {
            if (i == warmup)
            {
                allocated = GC.GetAllocatedBytesForCurrentThread();
            }

            long s = sequencer.Next();
            ring[s].Value = i;
            sequencer.Publish(s);
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        if (!graph.Halt(TimeSpan.FromSeconds(30)))
        {
            return "stages did not stop";
        }

        long sum = ((BatchEventProcessor<Slot, Summer, AdaptiveWait>)second.Processor).Handler.Sum;
        long expected = events * (events - 1); // sum of 2i for i < events
        if (sum != expected)
        {
            return $"sum {sum}, expected {expected}";
        }

        return allocated == 0 ? null : $"producer allocated {allocated} bytes";
    }

    /// <summary>
    /// A thread's first park creates its wait event (a one-off runtime allocation per thread).
    /// Whether the warm-up happens to fill the ring is up to the scheduler, so park once on purpose.
    /// </summary>
    private static void ParkOnce(Sequencer sequencer)
    {
        int generation = sequencer.Cursor.BeginWait();
        sequencer.Cursor.Park(generation, 1);
    }

    private static string? RunPinned()
    {
        using var ring = new RingBuffer<Slot>(16);
        using var graph = new EventGraph<Slot, BlockingWait>(ring, EventGraph<Slot, BlockingWait>.CreateSequencer(16, false));
        Stage stage = graph.Add("smoke-pinned", new Summer(), cpus: [0]);
        graph.Start();
        int[] mask = stage.Thread.CurrentAffinity();
        graph.Halt(TimeSpan.FromSeconds(5));
        return mask is [0] ? null : $"affinity [{string.Join(',', mask)}], expected [0]";
    }

    private struct Slot
    {
        public long Value;
        public long Doubled;
    }

    private struct Doubler : IEventHandler<Slot>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref Slot slot, long sequence, bool endOfBatch) => slot.Doubled = slot.Value * 2;

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    private struct Summer : IEventHandler<Slot>
    {
        public long Sum;

        public void OnStart()
        {
        }

        public void OnEvent(ref Slot slot, long sequence, bool endOfBatch) => Sum += slot.Doubled;

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }
}
