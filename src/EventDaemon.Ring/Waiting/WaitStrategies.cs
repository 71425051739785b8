using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace EventDaemon.Ring.Waiting;

/// <summary>Spins without ever giving up the core: lowest latency, one full core per consumer.
/// Only for consumers pinned to cores of their own; on a 2-core machine it starves the I/O threads.</summary>
public struct BusySpinWait : IWaitStrategy
{
    public static bool Parks => false;

    /// <summary>Nothing to configure: this strategy waits the same way on any machine.</summary>
    public readonly void Configure(in WaitContext context)
    {
    }

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

    /// <summary>Nothing to configure: this strategy waits the same way on any machine.</summary>
    public readonly void Configure(in WaitContext context)
    {
    }

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

    /// <summary>Nothing to configure: this strategy waits the same way on any machine.</summary>
    public readonly void Configure(in WaitContext context)
    {
    }

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

/// <summary>Parks on the sequence it waits for at once: zero CPU when idle, a futex
/// wake-up (tens of microseconds) of latency when work arrives.</summary>
public struct BlockingWait : IWaitStrategy
{
    public static bool Parks => true;

    /// <summary>Nothing to configure: this strategy waits the same way on any machine.</summary>
    public readonly void Configure(in WaitContext context)
    {
    }

    public readonly long WaitFor(long sequence, SequenceBarrier barrier, long deadline) =>
        ParkingWait.Park(sequence, barrier, deadline);
}

/// <summary>
/// The default: spin for a few microseconds (only while every busy thread has a core), yield a few
/// times, then park on the sequence it waits for. A busy pipeline rarely parks; an idle one costs
/// nothing; and when threads outnumber cores the yields and parks hand the core to the thread that
/// has work.
/// </summary>
/// <remarks>
/// <para>The spin-and-yield budget adapts per consumer: it halves each time a wait ends in a park
/// (the next event came later than spinning could reach, so the spinning was wasted) and grows by
/// half each time spinning found work. At a steady rate below what spinning can catch — 100 k
/// events/s is a 10 µs gap — the budget falls to a couple of tries and the consumer parks almost at
/// once, instead of burning a fifth of a core spinning before every event (measured in the daemon
/// on two cores); under load the budget stays at its maximum. One wait in 16 probes with the full
/// budget, and a probe that finds work restores it at once. A stage with idle hand-off
/// (<see cref="EventGraph{T, TWait}.EnableIdleHandoff"/>) always takes the minimum budget: it parks
/// as soon as nothing is waiting, so producers run it instead.</para>
/// <para>With more busy threads than cores (<see cref="WaitContext.Oversubscribed"/>) the budget
/// has no spins at all, only yields: a spinning waiter would hold the core the thread it waits for
/// needs. The state lives in the instance, one per consumer, set by <see cref="Configure"/> before
/// the consumer's thread starts.</para>
/// </remarks>
public struct AdaptiveWait : IWaitStrategy
{
    /// <summary>About 9 µs of spinning before the first yield, while every busy thread has a core.</summary>
    private const int LongSpin = 64;
    private const int Yields = 16;
    private const int MinBudget = 2;
    private const int ProbeEvery = 16;

    // Unconfigured (default) is a consumer with a core of its own, as the strategy used to assume.
    private bool _oversubscribed;

    // Tries (spins, then yields) before parking; 0 = not yet set (start at the maximum).
    private int _budget;
    private int _waits;

    public static bool Parks => true;

    /// <summary>Tries this consumer will spend before parking next time (for tests).</summary>
    public readonly int Budget => _budget;

    /// <summary>Spins this consumer tries before its first yield (for tests).</summary>
    public readonly int SpinTries => _oversubscribed ? 0 : LongSpin;

    public void Configure(in WaitContext context)
    {
        _oversubscribed = context.Oversubscribed;
        _budget = 0;
    }

    public long WaitFor(long sequence, SequenceBarrier barrier, long deadline)
    {
        long available;
        int spinTries = SpinTries;
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
                _budget = probe ? max : Math.Min(max, current + current / 2 + 1);
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
    /// <summary>Upper bound on one park: a safety net only; wake-ups come from the sequence's writer.</summary>
    internal const int MaxParkMs = 1000;

    public static long Park(long sequence, SequenceBarrier barrier, long deadline)
    {
        IdleHandoff? handoff = barrier.Handoff;
        if (handoff is null)
        {
            return ParkOnLagging(sequence, barrier, deadline);
        }

        // While this thread sleeps, producers may run the stage themselves (see IdleHandoff); the
        // lease is lent before registering on the signal, so the re-check there covers it.
        handoff.Lend();
        try
        {
            return ParkLent(sequence, barrier, handoff, deadline);
        }
        finally
        {
            handoff.Reclaim();
        }
    }

    /// <summary>Sleeps on the sequence the barrier is behind, so that only its writer wakes it.</summary>
    private static long ParkOnLagging(long sequence, SequenceBarrier barrier, long deadline)
    {
        long available;
        while ((available = barrier.DependentMinimum) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return WaitResult.Alerted;
            }

            int timeoutMs = TimeoutMs(deadline);
            if (timeoutMs == 0)
            {
                return WaitResult.TimedOut;
            }

            // Null when it moved since the check above: go round and take it.
            if (barrier.Lagging(sequence) is not { } lagging)
            {
                continue;
            }

            int generation = lagging.BeginWait();
            long seen = lagging.Value;
            // Re-check after registering: a write that happened before BeginWait is seen here, one
            // that happens after it sees the sleeper and wakes it (see Sequence). The whole
            // condition, not just this sequence: an alert wakes through the same sequence.
            if (barrier.DependentMinimum >= sequence || barrier.IsAlerted)
            {
                continue;
            }

            if (lagging.Park(generation, timeoutMs))
            {
                barrier.CountWakeUp();
            }
            else if (lagging.Value != seen && !lagging.WokenSince(generation))
            {
                // Slept out the timeout although the sequence moved after this registration and
                // nobody woke it: the handshake failed, and only the timeout rescued the stage.
                barrier.CountLostWakeUp();
            }
        }

        return available;
    }

    /// <summary>Sleeps on the hand-off's signal, which producers notify when they cannot run the
    /// stage themselves (a plain publish notifies it too).</summary>
    private static long ParkLent(long sequence, SequenceBarrier barrier, IdleHandoff handoff, long deadline)
    {
        WaitSignal signal = handoff.Signal;
        long available;
        while ((available = barrier.DependentMinimum) < sequence)
        {
            if (barrier.IsAlerted)
            {
                return WaitResult.Alerted;
            }

            if (handoff.IsHandedBack)
            {
                // A producer's batch handed the stage back: the stage's thread takes its turn now.
                return WaitResult.TimedOut;
            }

            int timeoutMs = TimeoutMs(deadline);
            if (timeoutMs == 0)
            {
                return WaitResult.TimedOut;
            }

            int generation = signal.BeginWait();
            // Re-check after registering: a publish that happened before BeginWait is seen here,
            // one that happens after it sees the waiter and notifies.
            if (barrier.DependentMinimum >= sequence || barrier.IsAlerted || handoff.IsHandedBack)
            {
                continue;
            }

            // A lent stage may rightly sleep out its timeout while producers run every batch.
            if (signal.Park(generation, timeoutMs))
            {
                barrier.CountWakeUp();
            }
        }

        return available;
    }

    /// <summary>Milliseconds to sleep at most before <paramref name="deadline"/>; 0 once it has passed.</summary>
    private static int TimeoutMs(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            return MaxParkMs;
        }

        long remaining = deadline - Stopwatch.GetTimestamp();
        return remaining <= 0 ? 0 : (int)Math.Clamp(remaining * 1000 / Stopwatch.Frequency + 1, 1, MaxParkMs);
    }
}

internal static class WaitDeadline
{
    /// <summary>Reading the clock costs ~20 ns, so spinners look at it once every 1024 tries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Passed(int tries, long deadline) =>
        (tries & 1023) == 0 && deadline != long.MaxValue && Stopwatch.GetTimestamp() > deadline;
}
