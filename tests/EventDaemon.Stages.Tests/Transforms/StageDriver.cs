using EventDaemon.Events;
using EventDaemon.Ring;
using EventDaemon.Stages.Metrics;

namespace EventDaemon.Stages.Tests.Transforms;

/// <summary>Hands slots of a <see cref="TestRing"/> to a stage's handler on the test thread, as its processor would.</summary>
internal static class StageDriver
{
    public static StageMetrics Metrics(string type) => new("stage", "transform") { Type = type };

    /// <summary>Appends <paramref name="json"/>, delivers it, and returns the slot's marks afterwards.</summary>
    public static ulong Push<THandler>(ref THandler handler, TestRing ring, string json, ushort sourceId = 0, long? ingestNanos = null)
        where THandler : struct, IEventHandler<EventSlot>
    {
        long sequence = ring.AppendJson(json, sourceId);
        if (ingestNanos is { } t)
        {
            ring[sequence].IngestNanos = t;
        }

        handler.OnEvent(ref ring[sequence], sequence, endOfBatch: true);
        return ring[sequence].Marks;
    }

    /// <summary>Delivers an appended slot with fresh marks and returns its marks afterwards.</summary>
    public static ulong Deliver<THandler>(ref THandler handler, TestRing ring, long sequence, bool endOfBatch = true)
        where THandler : struct, IEventHandler<EventSlot>
    {
        ring[sequence].Marks = 0;
        handler.OnEvent(ref ring[sequence], sequence, endOfBatch);
        return ring[sequence].Marks;
    }

    /// <summary>
    /// Bytes allocated on this thread while <paramref name="count"/> deliveries of the appended
    /// <paramref name="sequences"/> (round robin) go through the handler, after a warm-up.
    /// <paramref name="before"/> prepares each slot (e.g. its arrival time) and must not allocate.
    /// </summary>
    public static long AllocatedBytes<THandler>(ref THandler handler, TestRing ring, long[] sequences, int count, Action<int, long>? before = null)
        where THandler : struct, IEventHandler<EventSlot>
    {
        Run(ref handler, ring, sequences, 0, 20_000, before);
        long start = GC.GetAllocatedBytesForCurrentThread();
        Run(ref handler, ring, sequences, 20_000, 20_000 + count, before);
        return GC.GetAllocatedBytesForCurrentThread() - start;
    }

    private static void Run<THandler>(ref THandler handler, TestRing ring, long[] sequences, int from, int to, Action<int, long>? before)
        where THandler : struct, IEventHandler<EventSlot>
    {
        for (int i = from; i < to; i++)
        {
            long sequence = sequences[i % sequences.Length];
            before?.Invoke(i, sequence);
            ring[sequence].Marks = 0;
            handler.OnEvent(ref ring[sequence], sequence, endOfBatch: (i & 63) == 63);
        }
    }
}
