using System.Runtime.CompilerServices;

namespace EventDaemon.Ring.Waiting;

/// <summary>
/// Where parked threads of one ring sleep, and what wakes them: producers call
/// <see cref="NotifyIfWaiting"/> after publishing, consumers after advancing their sequence, and
/// producers waiting for space park here too. It costs one fence and one read when nobody sleeps.
/// </summary>
/// <remarks>
/// Lost wake-ups are impossible, and notifying costs no fence: this is an asymmetric Dekker
/// handshake. A waiter increments <c>_waiters</c>, then issues a process-wide barrier
/// (membarrier: every other thread's earlier stores become visible, and its later loads see the
/// increment), then re-checks its condition before parking. So either the waiter sees the
/// notifier's sequence write, or the notifier's plain read sees the waiter. The expensive side is
/// the one that is about to sleep anyway. Waits are also bounded by a timeout, as a second line of
/// defence and so that idle stages get a periodic tick.
/// </remarks>
public sealed class WaitSignal
{
    // A plain object, not System.Threading.Lock: Monitor.Wait/PulseAll need a monitor.
    private readonly object _gate = new();
    private int _waiters;
    private long _generation;

    public WaitSignal()
    {
        // Inflate the monitor now: the first contended use of a thin lock, or the first Wait on
        // it, allocates its sync block — which would otherwise happen on some producer's or
        // consumer's path in the middle of a run.
        lock (_gate)
        {
            Monitor.Wait(_gate, 0);
        }
    }

    /// <summary>Wakes every parked thread if there is any.</summary>
    /// <remarks>A plain volatile read, no fence: the waiters' process-wide barrier provides the
    /// store-load ordering (see the type's remarks).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void NotifyIfWaiting()
    {
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
        // The expensive half of the handshake: after this, a notifier either has its sequence
        // write visible to our re-check, or will read the incremented count.
        Interlocked.MemoryBarrierProcessWide();
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
