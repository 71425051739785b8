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
    }

    public string Name { get; }

    /// <summary>"transform" or "sink" (and the transform's type, e.g. "aggregate", in <see cref="Type"/>).</summary>
    public string Kind { get; }

    public string Type { get; init; } = "";

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

    public long Throttled => Sum(static (ref StageCounters c) => ref c.Throttled);

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

/// <summary>A stage's counters on cache lines of their own (64 bytes of padding at each end).</summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
public struct StageCounters
{
    // padding: bytes 0..63 keep other objects' hot data off these lines.
    [FieldOffset(64)] public long Processed;
    [FieldOffset(72)] public long Late;
    [FieldOffset(80)] public long Written;
    [FieldOffset(88)] public long Errors;
    [FieldOffset(96)] public long DroppedMaxGroups;
    [FieldOffset(104)] public long Throttled;
    [FieldOffset(112)] public long EnrichHits;
    [FieldOffset(120)] public long EnrichMisses;
    // padding: bytes 128..191.

    /// <summary>Adds another set (a split stage's thread that a reload retires). Not on any hot path.</summary>
    internal void Add(in StageCounters other)
    {
        Processed += Volatile.Read(in other.Processed);
        Late += Volatile.Read(in other.Late);
        Written += Volatile.Read(in other.Written);
        Errors += Volatile.Read(in other.Errors);
        DroppedMaxGroups += Volatile.Read(in other.DroppedMaxGroups);
        Throttled += Volatile.Read(in other.Throttled);
        EnrichHits += Volatile.Read(in other.EnrichHits);
        EnrichMisses += Volatile.Read(in other.EnrichMisses);
    }
}
