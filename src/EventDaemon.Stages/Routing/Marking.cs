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
    /// <summary>Counts a delivered event and its outcome, records its latency, and returns <paramref name="admitted"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Counted(bool admitted, ref EventSlot slot, long sequence, bool endOfBatch, StageMetrics metrics, bool countDropped = true)
    {
        ref StageCounters counters = ref metrics.Counters;
        Volatile.Write(ref counters.Processed, counters.Processed + 1);
        if (!admitted && countDropped)
        {
            TransformCounters.Increment(ref TransformCounters.Dropped(metrics));
        }

        metrics.Latency.RecordSampled(sequence, endOfBatch, slot.IngestNanos);
        return admitted;
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
