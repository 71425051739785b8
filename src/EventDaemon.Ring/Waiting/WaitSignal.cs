using System.Runtime.CompilerServices;

namespace EventDaemon.Ring.Waiting;

/// <summary>
/// A place to sleep that is not a sequence: a stage lent to producers sleeps on its
/// <see cref="IdleHandoff.Signal"/>. The handshake is the one a <see cref="Sequence"/> uses for its
/// own waiters (see <see cref="Sequence.BeginWait"/>): notifying costs one plain read while nobody
/// sleeps.
/// </summary>
public sealed class WaitSignal
{
    private readonly FutexWord _word = new();

    // 1 = someone registered since the last wake-up; cleared by the notifier that wakes them.
    private int _sleepers;

    /// <summary>Wakes every parked thread if any registered since the last wake-up.</summary>
    /// <remarks>A plain volatile read, no fence: the waiter's process-wide barrier provides the
    /// store-load ordering (see <see cref="Sequence.BeginWait"/>).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void NotifyIfWaiting()
    {
        if (Volatile.Read(ref _sleepers) != 0)
        {
            WakeRegistered();
        }
    }

    /// <summary>Wakes every parked thread, registered or not (alerts and hand-backs).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void NotifyAll()
    {
        Volatile.Write(ref _sleepers, 0);
        _word.WakeAll();
    }

    /// <summary>Registers as a waiter: re-check the condition after this, then <see cref="Park"/>.</summary>
    /// <returns>The generation to pass to <see cref="Park"/>.</returns>
    public int BeginWait()
    {
        // The generation before the flag, as for a sequence (see Sequence.BeginWait).
        int generation = _word.Generation;
        Interlocked.Exchange(ref _sleepers, 1);
        Interlocked.MemoryBarrierProcessWide();
        return generation;
    }

    /// <summary>Sleeps until a notification newer than <paramref name="generation"/> or the timeout.</summary>
    /// <returns>True if woken by a notification, false on timeout.</returns>
    public bool Park(int generation, int timeoutMs) => _word.Sleep(generation, timeoutMs);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WakeRegistered()
    {
        // One notifier wakes; the others see the flag cleared and pay nothing.
        if (Interlocked.Exchange(ref _sleepers, 0) != 0)
        {
            _word.WakeAll();
        }
    }
}
