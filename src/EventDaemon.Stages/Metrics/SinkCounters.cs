using System.Runtime.InteropServices;

namespace EventDaemon.Stages.Metrics;

/// <summary>
/// What only a sink reports, apart from <see cref="StageCounters"/>: events re-sent after a
/// reconnect, and whether its destination has stopped taking bytes (backpressure, not failure).
/// On cache lines of their own (64 bytes of padding at each end).
/// </summary>
/// <remarks>
/// Written by the sink's one thread with <see cref="System.Threading.Volatile.Write(ref long, long)"/>
/// (release), read by the stats, health and monitor threads with
/// <see cref="System.Threading.Volatile.Read(ref readonly long)"/> (acquire). Written at most once
/// per batch, and only on the slow path (a reconnect, a write that blocks), never per event.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 192)]
public struct SinkCounters
{
    // padding: bytes 0..63 keep the stage counters' line and other objects off these.

    /// <summary>Events written again on a new connection because the old one may not have delivered them.</summary>
    [FieldOffset(64)] public long Resent;

    /// <summary>
    /// <see cref="System.Diagnostics.Stopwatch"/> timestamp since which the destination has taken no
    /// byte of the batch being written; 0 while writes go through.
    /// </summary>
    [FieldOffset(72)] public long BlockedSince;

    /// <summary>Events the sink holds (its batch) while a write is blocked or failing; 0 once written or given up.</summary>
    [FieldOffset(80)] public long Pending;

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp at which the last blocked write went through; 0 before any.</summary>
    [FieldOffset(88)] public long UnblockedAt;

    // padding: bytes 96..191.
}
