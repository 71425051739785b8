using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace EventDaemon.Ring.Waiting;

/// <summary>Spins without ever giving up the core: lowest latency, one full core per consumer.
/// Only for consumers pinned to cores of their own; on a 2-core machine it starves the I/O threads.</summary>
public struct BusySpinWait : IWaitStrategy
{
    public static bool Parks => false;

    public readonly long WaitFor(long sequence, SequenceBarrier barrier, long deadline)
    {
        long available;
        int spins = 0;
        while ((available = barrier.DependentMinimum) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return WaitResult.Alerted;
            }

            if (WaitDeadline.Passed(++spins, deadline))
            {
                return WaitResult.TimedOut;
            }

            Thread.SpinWait(1);
        }

        return available;
    }
}

/// <summary>Spins briefly, then yields the core to any runnable thread between checks.
/// Low latency with fair sharing, but a waiting consumer still shows as busy.</summary>
public struct YieldingWait : IWaitStrategy
{
    /// <summary>About a microsecond of spinning before the first yield.</summary>
    private const int SpinTries = 100;

    public static bool Parks => false;

    public readonly long WaitFor(long sequence, SequenceBarrier barrier, long deadline)
    {
        long available;
        int spins = 0;
        while ((available = barrier.DependentMinimum) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return WaitResult.Alerted;
            }

            if (WaitDeadline.Passed(++spins, deadline))
            {
                return WaitResult.TimedOut;
            }

            if (spins < SpinTries)
            {
                Thread.SpinWait(1);
            }
            else
            {
                Thread.Yield();
            }
        }

        return available;
    }
}

/// <summary>Spins, yields, then sleeps 1 ms at a time: little CPU when idle and no signalling cost
/// for producers, at the price of up to ~1 ms extra latency after a quiet spell.</summary>
public struct SleepingWait : IWaitStrategy
{
    private const int SpinTries = 100;
    private const int YieldTries = 200;

    public static bool Parks => false;

    public readonly long WaitFor(long sequence, SequenceBarrier barrier, long deadline)
    {
        long available;
        int tries = 0;
        while ((available = barrier.DependentMinimum) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return WaitResult.Alerted;
            }

            tries++;
            if (tries > YieldTries && Stopwatch.GetTimestamp() > deadline)
            {
                return WaitResult.TimedOut;
            }

            if (tries < SpinTries)
            {
                Thread.SpinWait(1);
            }
            else if (tries < YieldTries)
            {
                Thread.Yield();
            }
            else
            {
                Thread.Sleep(1);
            }
        }

        return available;
    }
}

/// <summary>Parks on the ring's <see cref="WaitSignal"/> at once: zero CPU when idle, a futex
/// wake-up (tens of microseconds) of latency when work arrives.</summary>
public struct BlockingWait : IWaitStrategy
{
    public static bool Parks => true;

    public readonly long WaitFor(long sequence, SequenceBarrier barrier, long deadline) =>
        ParkingWait.Park(sequence, barrier, deadline);
}

/// <summary>
/// The default: spin for about a microsecond, yield a few times, then park on the signal.
/// A busy pipeline never parks (latency of a spin); an idle one costs nothing; and when
/// consumers outnumber cores the yields and parks hand the core to the producer that has work.
/// </summary>
/// <remarks>
/// The spin-and-yield budget adapts per consumer: it halves each time a wait ends in a park (the
/// next event came later than spinning could reach, so the spinning was wasted) and grows by half
/// each time spinning found work. At a steady rate below what spinning can catch — 100 k events/s
/// is a 10 µs gap — the budget falls to a couple of tries and the consumer parks almost at once,
/// instead of burning a fifth of a core spinning before every event (measured in the daemon on
/// two cores); under load the budget stays at its maximum and the consumer never parks. One wait
/// in 16 probes with the full budget, and a probe that finds work restores it at once. A stage with
/// idle hand-off (<see cref="EventGraph{T, TWait}.EnableIdleHandoff"/>) always takes the minimum
/// budget: it parks as soon as nothing is waiting, so producers run it instead.
/// </remarks>
public struct AdaptiveWait : IWaitStrategy
{
    private const int LongSpin = 64;
    private const int ShortSpin = 16;
    private const int Yields = 16;
    private const int MinBudget = 2;
    private const int ProbeEvery = 16;

    /// <summary>
    /// Spins before yielding: about 9 µs while every busy thread has a core, a quarter of that when
    /// threads outnumber cores — then a spinning consumer takes the very core the thread it waits
    /// for needs. Set once by <see cref="Configure"/> before consumers start.
    /// </summary>
    private static int _spinTries = LongSpin;

    // Tries (spins, then yields) before parking; 0 = not yet set (start at the maximum).
    private int _budget;
    private int _waits;

    /// <summary>Tells the strategy how many threads will be busy (producers and consumers).</summary>
    public static void Configure(int busyThreads) =>
        Volatile.Write(ref _spinTries, busyThreads > Environment.ProcessorCount ? ShortSpin : LongSpin);

    public static bool Parks => true;

    /// <summary>Tries this consumer will spend before parking next time (for tests).</summary>
    public readonly int Budget => _budget;

    public long WaitFor(long sequence, SequenceBarrier barrier, long deadline)
    {
        long available;
        int spinTries = _spinTries;
        int max = spinTries + Yields;
        int current = _budget == 0 ? max : _budget;
        // One wait in ProbeEvery spends the whole budget, so a consumer whose budget fell while
        // events were sparse finds out when they come close enough together for spinning to pay.
        bool probe = (++_waits & (ProbeEvery - 1)) == 0;
        // With idle hand-off, parking is what lets the producers run the stage without a wake-up;
        // spinning would only take the stream back onto this thread (and the other core) at rates
        // where the next event arrives just within the budget. Only work already waiting (load)
        // keeps the stage on its own thread.
        int budget = barrier.Handoff is not null ? MinBudget : probe ? max : current;
        for (int tries = 0; tries < budget; tries++)
        {
            if ((available = barrier.DependentMinimum) >= sequence)
            {
                if (tries > 0)
                {
                    _budget = probe ? max : Math.Min(max, current + current / 2 + 1);
                }

                return available;
            }

            if (barrier.IsAlerted)
            {
                return WaitResult.Alerted;
            }

            if (tries < spinTries)
            {
                Thread.SpinWait(4);
            }
            else
            {
                Thread.Yield();
            }
        }

        _budget = Math.Max(MinBudget, current / 2);
        return ParkingWait.Park(sequence, barrier, deadline);
    }
}

internal static class ParkingWait
{
    /// <summary>Upper bound on one park: a safety net only; wake-ups come from the signal.</summary>
    private const int MaxParkMs = 1000;

    public static long Park(long sequence, SequenceBarrier barrier, long deadline)
    {
        IdleHandoff? handoff = barrier.Handoff;
        if (handoff is null)
        {
            return Park(sequence, barrier, barrier.Signal, deadline);
        }

        // While this thread sleeps, producers may run the stage themselves (see IdleHandoff); the
        // lease is lent before registering on the signal, so the re-check there covers it.
        handoff.Lend();
        try
        {
            return Park(sequence, barrier, handoff.Signal, deadline, handoff);
        }
        finally
        {
            handoff.Reclaim();
        }
    }

    private static long Park(long sequence, SequenceBarrier barrier, WaitSignal signal, long deadline, IdleHandoff? handoff = null)
    {
        long available;
        while ((available = barrier.DependentMinimum) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return WaitResult.Alerted;
            }

            if (handoff is { IsHandedBack: true })
            {
                // A producer's batch handed the stage back: the stage's thread takes its turn now.
                return WaitResult.TimedOut;
            }

            int timeoutMs = MaxParkMs;
            if (deadline != long.MaxValue)
            {
                long remaining = deadline - Stopwatch.GetTimestamp();
                if (remaining <= 0)
                {
                    return WaitResult.TimedOut;
                }

                timeoutMs = (int)Math.Clamp(remaining * 1000 / Stopwatch.Frequency + 1, 1, MaxParkMs);
            }

            long generation = signal.BeginWait();
            try
            {
                // Re-check after registering: a publish that happened before BeginWait is seen here,
                // one that happens after it sees the waiter and bumps the generation.
                if (barrier.DependentMinimum >= sequence || barrier.IsAlerted || handoff is { IsHandedBack: true })
                {
                    continue;
                }

                signal.Park(generation, timeoutMs);
            }
            finally
            {
                signal.EndWait();
            }
        }

        return available;
    }
}

internal static class WaitDeadline
{
    /// <summary>Reading the clock costs ~20 ns, so spinners look at it once every 1024 tries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Passed(int tries, long deadline) =>
        (tries & 1023) == 0 && deadline != long.MaxValue && Stopwatch.GetTimestamp() > deadline;
}
