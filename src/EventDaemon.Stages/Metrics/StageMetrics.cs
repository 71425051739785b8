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

    public StageMetrics(string name, string kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }

    /// <summary>"transform" or "sink" (and the transform's type, e.g. "aggregate", in <see cref="Type"/>).</summary>
    public string Kind { get; }

    public string Type { get; init; } = "";

    public LatencyHistogram Latency { get; } = new();

    public ref StageCounters Counters => ref _counters;

    public long Processed => Volatile.Read(ref _counters.Processed);

    public long Late => Volatile.Read(ref _counters.Late);

    public long Written => Volatile.Read(ref _counters.Written);

    public long Errors => Volatile.Read(ref _counters.Errors);

    public long DroppedMaxGroups => Volatile.Read(ref _counters.DroppedMaxGroups);

    public long Throttled => Volatile.Read(ref _counters.Throttled);

    public long EnrichHits => Volatile.Read(ref _counters.EnrichHits);

    public long EnrichMisses => Volatile.Read(ref _counters.EnrichMisses);

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
}
