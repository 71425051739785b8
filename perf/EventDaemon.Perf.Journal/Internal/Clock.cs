using System.Diagnostics;
using EventDaemon.Perf.Journal.Interop;

namespace EventDaemon.Perf.Journal.Internal;

/// <summary>CLOCK_MONOTONIC in nanoseconds (what <see cref="Stopwatch"/> reads on Linux).</summary>
internal static unsafe class Clock
{
    public static long NowNs() => Stopwatch.GetTimestamp();

    /// <summary>The program reads nanoseconds straight from <see cref="Stopwatch"/>: only true on Linux, checked once at start.</summary>
    public static bool IsNanoseconds => Stopwatch.Frequency == 1_000_000_000;

    /// <summary>Sleeps until the monotonic time <paramref name="deadlineNs"/> (returns at once if it has passed).</summary>
    public static void SleepUntil(long deadlineNs)
    {
        var ts = new Libc.Timespec { Seconds = deadlineNs / 1_000_000_000, Nanoseconds = deadlineNs % 1_000_000_000 };
        while (Libc.clock_nanosleep(Libc.ClockMonotonic, Libc.TimerAbsTime, &ts, null) == Libc.Eintr)
        {
        }
    }

    /// <summary>1 ns of timer slack for the calling thread: the default 50 µs would turn a 10 µs schedule into groups of five.</summary>
    public static void TightenTimerSlack() => Libc.prctl(Libc.PrSetTimerSlack, 1, 0, 0, 0);
}
