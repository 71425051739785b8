using System.Runtime.CompilerServices;

namespace EventDaemon.Ring.Waiting;

/// <summary>
/// Where parked threads of one ring sleep, and what wakes them: producers call
/// <see cref="NotifyIfWaiting"/> after publishing, consumers after advancing their sequence, and
/// producers waiting for space park here too. It costs one fence and one read when nobody sleeps.
/// </summary>
/// <remarks>
/// Lost wake-ups are impossible: a waiter increments <c>_waiters</c> (full fence) before it
/// re-checks its condition, and a notifier's full fence between its sequence write and its read
/// of <c>_waiters</c> means at least one of the two sees the other. Waits are also bounded by a
/// timeout, as a second line of defence and so that idle stages get a periodic tick.
/// </remarks>
public sealed class WaitSignal
{
    // A plain object, not System.Threading.Lock: Monitor.Wait/PulseAll need a monitor.
    private readonly object _gate = new();
    private int _waiters;
    private long _generation;

    /// <summary>Wakes every parked thread if there is any.</summary>
    /// <remarks>Full fence first: orders the caller's preceding sequence write before the read of
    /// the waiter count (store-load).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void NotifyIfWaiting()
    {
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _waiters) != 0)
        {
            NotifyAll();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void NotifyAll()
    {
        lock (_gate)
        {
            _generation++;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Registers as a waiter; must be paired with <see cref="EndWait"/>.</summary>
    /// <returns>The generation to pass to <see cref="Park"/>.</returns>
    public long BeginWait()
    {
        Interlocked.Increment(ref _waiters);
        return Volatile.Read(ref _generation);
    }

    /// <summary>Sleeps until a notification newer than <paramref name="generation"/> or the timeout.</summary>
    public void Park(long generation, int timeoutMs)
    {
        lock (_gate)
        {
            if (_generation == generation)
            {
                Monitor.Wait(_gate, timeoutMs);
            }
        }
    }

    public void EndWait() => Interlocked.Decrement(ref _waiters);
}
