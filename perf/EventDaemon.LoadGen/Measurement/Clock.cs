using System.Diagnostics;
using EventDaemon.LoadGen.Interop;

namespace EventDaemon.LoadGen.Measurement;

/// <summary>
/// CLOCK_MONOTONIC in nanoseconds (what <see cref="Stopwatch"/> reads on Linux), shared by every
/// process on the machine, and a fixed offset to Unix time taken once at start.
/// </summary>
/// <remarks>
/// Events carry their intended send time as a Unix-nanosecond <c>ts</c> (a realistic event time)
/// computed as monotonic time plus <see cref="UnixOffsetNs"/>. The receiver subtracts the same
/// offset, so latency is measured on the monotonic clock alone: a wall-clock step during a run
/// changes nothing.
/// </remarks>
internal static class Clock
{
    /// <summary>Unix ns minus monotonic ns, fixed for the life of the process.</summary>
    public static readonly long UnixOffsetNs = ComputeOffset();

    private static readonly bool NativeNanoseconds = Stopwatch.Frequency == 1_000_000_000;

    public static long NowNs()
    {
        long t = Stopwatch.GetTimestamp();
        return NativeNanoseconds ? t : (long)(t * (1e9 / Stopwatch.Frequency));
    }

    public static long ToUnix(long monotonicNs) => monotonicNs + UnixOffsetNs;

    public static long FromUnix(long unixNs) => unixNs - UnixOffsetNs;

    /// <summary>Sleeps until the monotonic time <paramref name="deadlineNs"/> (returns at once if it has passed).</summary>
    public static void SleepUntil(long deadlineNs)
    {
        if (!NativeNanoseconds)
        {
            long wait = deadlineNs - NowNs();
            if (wait > 0)
            {
                Thread.Sleep(TimeSpan.FromTicks(Math.Max(1, wait / 100)));
            }

            return;
        }

        var ts = new Libc.Timespec { Seconds = deadlineNs / 1_000_000_000, Nanoseconds = deadlineNs % 1_000_000_000 };
        while (Libc.clock_nanosleep(Libc.ClockMonotonic, Libc.TimerAbsTime, in ts, IntPtr.Zero) == 4 /* EINTR */)
        {
        }
    }

    /// <summary>Asks the kernel to wake this thread on time rather than within the default 50 µs of slack.</summary>
    public static void TightenTimerSlack() => Libc.prctl(Libc.PrSetTimerSlack, 1, 0, 0, 0);

    private static long ComputeOffset()
    {
        long before = NowNs();
        long unix = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
        long after = NowNs();
        return unix - ((before + after) / 2);
    }
}
