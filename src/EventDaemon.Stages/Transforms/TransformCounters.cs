using EventDaemon.Stages.Metrics;

namespace EventDaemon.Stages.Transforms;

/// <summary>
/// Where the sample, throttle and dedupe stages keep their counters among <see cref="StageCounters"/>,
/// and what each means per stage type. The stats socket reads them through the same mapping
/// (<c>StatsCollector</c>), so each reaches operators under its own name.
/// </summary>
/// <remarks>Written only by the stage's own thread, with release stores like every stage counter.</remarks>
public static class TransformCounters
{
    /// <summary>
    /// Events the stage did not let through by its own rule: throttle — over the limit
    /// (<c>events_dropped_total{reason="throttled"}</c>); dedupe — repeats
    /// (<c>reason="duplicate"</c>); sample — not sampled (<c>reason="sampled_out"</c>).
    /// </summary>
    public static ref long Dropped(StageMetrics metrics) => ref metrics.Counters.Throttled;

    /// <summary>
    /// The key bound at work: throttle — events of keys beyond <c>max_keys</c> in their second, let
    /// through untracked (<c>throttle_keys_overflow_total</c>); dedupe — values forgotten before
    /// their window ended to stay within <c>max_keys</c> (<c>dedupe_evictions_total</c>).
    /// </summary>
    public static ref long KeysOverflow(StageMetrics metrics) => ref metrics.Counters.DroppedMaxGroups;

    /// <summary>Adds one with a release store (the stats socket reads with acquire loads).</summary>
    public static void Increment(ref long counter) => Volatile.Write(ref counter, counter + 1);
}
