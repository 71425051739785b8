using System.Runtime.CompilerServices;
using EventDaemon.Events;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Transforms;

namespace EventDaemon.Stages.Routing;

/// <summary>
/// What every marking transform (filter, sample, throttle, dedupe) does around its own decision:
/// count the event, time it, and set the stage's bit on events it does not let through — including
/// those that never reached it, so that stages downstream skip them.
/// </summary>
public static class Marking
{
    /// <summary>Counts a delivered event, records its latency, and returns <paramref name="admitted"/>
    /// (a filter: what it refuses is not a drop of its own).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Counted(bool admitted, ref EventSlot slot, long sequence, bool endOfBatch, StageMetrics metrics)
    {
        ref StageCounters counters = ref metrics.Counters;
        Volatile.Write(ref counters.Processed, counters.Processed + 1);
        metrics.Latency.RecordSampled(sequence, endOfBatch, slot.IngestNanos);
        return admitted;
    }

    /// <summary>As above, counting a refused event in <paramref name="dropped"/>: the stage type's own
    /// counter of what its rule dropped (<see cref="StageCounters.Throttled"/>, <c>Duplicates</c>, <c>SampledOut</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Counted(bool admitted, ref EventSlot slot, long sequence, bool endOfBatch, StageMetrics metrics, ref long dropped)
    {
        if (!admitted)
        {
            TransformCounters.Increment(ref dropped);
        }

        return Counted(admitted, ref slot, sequence, endOfBatch, metrics);
    }

    /// <summary>Sets <paramref name="bit"/> unless the event passed.</summary>
    /// <remarks>Atomic: stages that run in parallel on the same slot own different bits of one word.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MarkUnless(bool passed, ref EventSlot slot, ulong bit)
    {
        if (!passed)
        {
            Interlocked.Or(ref slot.Marks, bit);
        }
    }
}
