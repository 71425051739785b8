using EventDaemon.Stages.Metrics;

namespace EventDaemon.Stages.Transforms;

/// <summary>How the transforms write their own counters among <see cref="StageCounters"/>: each
/// stage type has fields of its own (a throttle's <c>Throttled</c>, a dedupe's <c>Duplicates</c>, a
/// sample's <c>SampledOut</c>), so no field means one thing for one type and another for the next.</summary>
/// <remarks>Written only by the stage's own thread, with release stores like every stage counter.</remarks>
public static class TransformCounters
{
    /// <summary>Adds one with a release store (the stats socket reads with acquire loads).</summary>
    public static void Increment(ref long counter) => Volatile.Write(ref counter, counter + 1);
}
