namespace EventDaemon.Ring;

/// <summary>What tests see of a sequence's waking: counted on the slow path only.</summary>
public sealed partial class Sequence
{
    private long _wakes;

    /// <summary>Wake-ups this sequence's writers issued to registered sleepers.</summary>
    internal long Wakes => Interlocked.Read(ref _wakes);

    /// <summary>True while a thread is registered to sleep on this sequence.</summary>
    internal bool HasSleepers => Volatile.Read(ref _cell.Sleepers) != 0;

    /// <summary>True if a wake-up was issued on this sequence after <paramref name="generation"/>
    /// was read.</summary>
    internal bool WokenSince(int generation) => _futex.Generation != generation;

    /// <summary>The padded cell, for the layout test.</summary>
    internal ref SequenceCell Cell => ref _cell;

    private void CountWake() => Interlocked.Increment(ref _wakes);
}
