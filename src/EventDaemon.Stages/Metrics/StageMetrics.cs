using System.Runtime.InteropServices;

namespace EventDaemon.Stages.Metrics;

/// <summary>
/// Counters of one transform or sink. Each is written only by the stage's own thread (plain
/// increments, published with release stores), read by the stats socket with acquire loads.
/// </summary>
public sealed class StageMetrics
{
    // Mutable struct: counters are written in place, so not readonly.
    private StageCounters _counters;

    // Mutable struct, as above; used by sinks only.
    private SinkCounters _sink;

    public StageMetrics(string name, string kind)
    {
        Name = name;
        Kind = kind;
        Stage = StageTypes.Of(kind, "");
    }

    public string Name { get; }

    /// <summary>"transform" or "sink" (and the transform's type, e.g. "aggregate", in <see cref="Type"/>).</summary>
    public string Kind { get; }

    /// <summary>The config's type name ("aggregate", "stdout", …); sets <see cref="Stage"/>.</summary>
    public string Type
    {
        get => _type;
        init
        {
            _type = value;
            Stage = StageTypes.Of(Kind, value);
        }
    }

    private readonly string _type = "";

    /// <summary>What the stage is, and so which of its counters mean anything.</summary>
    public StageType Stage { get; private init; }

    public LatencyHistogram Latency { get; private set; } = new();

    public ref StageCounters Counters => ref _counters;

    /// <summary>A sink's own counters (<see cref="Kind"/> "sink"); all zero for a transform.</summary>
    public ref SinkCounters Sink => ref _sink;

    /// <summary>The counters of each thread of a stage split over several (<see cref="Split"/>); empty otherwise.</summary>
    public IReadOnlyList<StageMetrics> Parts => _parts;

    private StageMetrics[] _parts = [];

    /// <summary>
    /// Gives each of <paramref name="threads"/> threads of the stage counters of its own (one writer
    /// each, as for any stage); this object's counters and latency then read as their sums.
    /// </summary>
    public StageMetrics[] Split(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        if (_parts.Length != threads)
        {
            // Totals never go backwards across a reload: what the old parts counted moves here.
            foreach (StageMetrics old in _parts)
            {
                _counters.Add(in old._counters);
            }

            _parts = [.. Enumerable.Range(0, threads).Select(_ => new StageMetrics(Name, Kind) { Type = Type })];
            Latency = new LatencyHistogram([Latency, .. _parts.Select(p => p.Latency)]);
        }

        return _parts;
    }

    public long Processed => Sum(static (ref StageCounters c) => ref c.Processed);

    public long Late => Sum(static (ref StageCounters c) => ref c.Late);

    public long Written => Sum(static (ref StageCounters c) => ref c.Written);

    public long Errors => Sum(static (ref StageCounters c) => ref c.Errors);

    public long DroppedMaxGroups => Sum(static (ref StageCounters c) => ref c.DroppedMaxGroups);

    public long DroppedKeyTooLong => Sum(static (ref StageCounters c) => ref c.DroppedKeyTooLong);

    public long DroppedOpenWindows => Sum(static (ref StageCounters c) => ref c.DroppedOpenWindows);

    public long Abandoned => Sum(static (ref StageCounters c) => ref c.Abandoned);

    public long Throttled => Sum(static (ref StageCounters c) => ref c.Throttled);

    public long Duplicates => Sum(static (ref StageCounters c) => ref c.Duplicates);

    public long SampledOut => Sum(static (ref StageCounters c) => ref c.SampledOut);

    public long KeysOverflow => Sum(static (ref StageCounters c) => ref c.KeysOverflow);

    public long Evicted => Sum(static (ref StageCounters c) => ref c.Evicted);

    public long EnrichHits => Sum(static (ref StageCounters c) => ref c.EnrichHits);

    public long EnrichMisses => Sum(static (ref StageCounters c) => ref c.EnrichMisses);

    private delegate ref long CounterOf(ref StageCounters counters);

    private long Sum(CounterOf counter)
    {
        long total = Volatile.Read(ref counter(ref _counters));
        foreach (StageMetrics part in _parts)
        {
            total += Volatile.Read(ref counter(ref part._counters));
        }

        return total;
    }

    /// <summary>Set by a failing sink, cleared on its next success; read by <c>health</c>.</summary>
    public string? LastError
    {
        get => Volatile.Read(ref _lastError);
        set => Volatile.Write(ref _lastError, value);
    }

    private string? _lastError;
}

/// <summary>
/// A stage's counters on cache lines of their own (64 bytes of padding at each end). Each field
/// has one meaning and one kind of stage that writes it (named in its comment); a stage leaves the
/// others at 0. The stats socket reads each under its own name (Control/STATS.md).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 256)]
public struct StageCounters
{
    // padding: bytes 0..63 keep other objects' hot data off these lines.

    /// <summary>Every stage: events that reached it (<c>events_processed_total</c>).</summary>
    [FieldOffset(64)] public long Processed;

    /// <summary>Aggregate (event time): events older than the allowed lateness (<c>events_late_total</c>).</summary>
    [FieldOffset(72)] public long Late;

    /// <summary>Sink: events written (<c>sink_events_written_total</c>).</summary>
    [FieldOffset(80)] public long Written;

    /// <summary>Sink: failed writes (<c>sink_errors_total</c>).</summary>
    [FieldOffset(88)] public long Errors;

    /// <summary>Aggregate: events whose new group would pass max_groups
    /// (<c>events_dropped_total{reason="max_groups"}</c>).</summary>
    [FieldOffset(96)] public long DroppedMaxGroups;

    /// <summary>Sink: events it gave up undelivered — drain timeout, or replaced by a reload
    /// (<c>events_dropped_total{reason="sink_abandoned"}</c>).</summary>
    [FieldOffset(104)] public long Abandoned;

    /// <summary>Throttle: events over the limit (<c>events_dropped_total{reason="throttled"}</c>).</summary>
    [FieldOffset(112)] public long Throttled;

    /// <summary>Dedupe: repeats (<c>events_dropped_total{reason="duplicate"}</c>).</summary>
    [FieldOffset(120)] public long Duplicates;

    /// <summary>Sample: events not sampled (<c>events_dropped_total{reason="sampled_out"}</c>).</summary>
    [FieldOffset(128)] public long SampledOut;

    /// <summary>Throttle: events of keys beyond max_keys in their second, let through untracked
    /// (<c>throttle_keys_overflow_total</c>).</summary>
    [FieldOffset(136)] public long KeysOverflow;

    /// <summary>Dedupe: values forgotten before their window ended, to stay within max_keys
    /// (<c>dedupe_evictions_total</c>).</summary>
    [FieldOffset(144)] public long Evicted;

    /// <summary>Enrich: events whose join key was found (<c>enrich_hits_total</c>).</summary>
    [FieldOffset(152)] public long EnrichHits;

    /// <summary>Enrich: events whose join key was not found (<c>enrich_misses_total</c>).</summary>
    [FieldOffset(160)] public long EnrichMisses;

    /// <summary>Aggregate: events whose group key is longer than a key may be
    /// (<c>events_dropped_total{reason="key_too_long"}</c>).</summary>
    [FieldOffset(168)] public long DroppedKeyTooLong;

    /// <summary>Aggregate: events for a window beyond the most that may be open at once
    /// (<c>events_dropped_total{reason="max_open_windows"}</c>).</summary>
    [FieldOffset(176)] public long DroppedOpenWindows;

    // padding: bytes 184..191 fill the last counters' line, 192..255 keep the next object's data off it.

    /// <summary>Adds another set (a split stage's thread that a reload retires). Not on any hot path.</summary>
    internal void Add(in StageCounters other)
    {
        Processed += Volatile.Read(in other.Processed);
        Late += Volatile.Read(in other.Late);
        Written += Volatile.Read(in other.Written);
        Errors += Volatile.Read(in other.Errors);
        DroppedMaxGroups += Volatile.Read(in other.DroppedMaxGroups);
        Abandoned += Volatile.Read(in other.Abandoned);
        Throttled += Volatile.Read(in other.Throttled);
        Duplicates += Volatile.Read(in other.Duplicates);
        SampledOut += Volatile.Read(in other.SampledOut);
        KeysOverflow += Volatile.Read(in other.KeysOverflow);
        Evicted += Volatile.Read(in other.Evicted);
        EnrichHits += Volatile.Read(in other.EnrichHits);
        EnrichMisses += Volatile.Read(in other.EnrichMisses);
        DroppedKeyTooLong += Volatile.Read(in other.DroppedKeyTooLong);
        DroppedOpenWindows += Volatile.Read(in other.DroppedOpenWindows);
    }
}
