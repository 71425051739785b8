using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace EventDaemon.Events;

/// <summary>CLOCK_MONOTONIC in nanoseconds: the time base of <see cref="EventSlot.IngestNanos"/> and every latency.</summary>
public static class MonotonicClock
{
    // On Linux the Stopwatch frequency is 1 GHz (it reads CLOCK_MONOTONIC), so the scale is 1;
    // the division stays for other platforms.
    private static readonly long NanosPerTick = 1_000_000_000 / Stopwatch.Frequency;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long NowNanos() => Stopwatch.GetTimestamp() * NanosPerTick;

    /// <summary>A <see cref="Stopwatch"/> timestamp in this clock's nanoseconds, for callers that
    /// need both from one clock read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long ToNanos(long stopwatchTimestamp) => stopwatchTimestamp * NanosPerTick;

    /// <summary>Wall-clock Unix nanoseconds (for events without a <c>ts</c>).</summary>
    public static long UnixNanos() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
