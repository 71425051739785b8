using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring;

/// <summary>
/// A 64-bit sequence counter alone on its cache lines. Producers publish through one, each
/// consumer owns one, and everyone else only reads them. Whoever must wait for it to move sleeps
/// on it: its writer wakes exactly the threads waiting on this sequence, no one else.
/// </summary>
/// <remarks>
/// <para>Lost wake-ups are impossible, and waking costs the writer no fence: this is an asymmetric
/// Dekker handshake. A waiter sets the sleepers flag (<see cref="BeginWait"/>), then issues a
/// process-wide barrier (membarrier: every other thread's earlier stores become visible to it, and
/// its own store becomes visible to every other thread's later loads), then re-checks its
/// condition before sleeping. The writer stores the new value, then reads the flag
/// (<see cref="WakeWaiters"/>). So either the waiter's re-check sees the new value, or the writer's
/// plain read sees the flag. The expensive side is the one about to sleep anyway.</para>
/// <para>The writer that sees the flag clears it (an exchange, so that of several writers one
/// wakes), then bumps the futex generation, then wakes every sleeper. A waiter reads the generation
/// before it sets the flag, and sleeps only while the word still holds that generation. So a clear
/// that consumes a registration made after a previous wake-up is always followed by a bump the
/// sleeper sees (its sleep returns at once): a registration is never cleared without waking the
/// thread that made it, even when the value it then writes is not yet what the waiter needs (a
/// stage after two others, a producer that needs several slots) and the waiter registers again.
/// Clearing on wake means a sleeper costs its writer one wake-up however many batches the writer
/// ends before the sleeper runs again.</para>
/// </remarks>
public sealed partial class Sequence
{
    public const long InitialValue = -1;

    // Mutable struct: the value and the sleepers flag are written in place, so not readonly.
    private SequenceCell _cell;

    // Only the slow paths (a sleeper, a wake-up) read it; wherever the runtime places the field,
    // the cell's padding keeps it off the value's and the flag's lines.
    private readonly FutexWord _futex = new();

    public Sequence(long initial = InitialValue) => _cell.Value = initial;

    /// <summary>The current value.</summary>
    /// <remarks>Acquire: reads after this one see every write made before the matching <see cref="SetValue"/>.</remarks>
    public long Value
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _cell.Value);
    }

    /// <summary>Publishes a new value.</summary>
    /// <remarks>Release: every write before this one is visible to a reader that sees the new value.
    /// No store-load fence: a later read may still pass this write.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetValue(long value) => Volatile.Write(ref _cell.Value, value);

    /// <summary>Publishes a new value with a full fence.</summary>
    /// <remarks>Sequentially consistent: no later read moves before this write (store-load ordering),
    /// as needed before checking for parked waiters.</remarks>
    public void SetValueVolatile(long value) => Interlocked.Exchange(ref _cell.Value, value);

    /// <summary>Atomically replaces <paramref name="expected"/> with <paramref name="value"/>.</summary>
    /// <remarks>Full fence, success or not.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool CompareAndSet(long expected, long value) =>
        Interlocked.CompareExchange(ref _cell.Value, value, expected) == expected;

    /// <summary>Atomically adds and returns the new value.</summary>
    /// <remarks>Full fence.</remarks>
    public long AddAndGet(long increment) => Interlocked.Add(ref _cell.Value, increment);

    /// <summary>Wakes the threads waiting for this sequence to move, if any: call after every
    /// <see cref="SetValue"/> that someone may wait on.</summary>
    /// <remarks>One plain read of the sleepers flag (on the value's own lines) while nobody sleeps;
    /// no fence (the waiter's process-wide barrier orders it, see the type's remarks).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WakeWaiters()
    {
        if (Volatile.Read(ref _cell.Sleepers) != 0)
        {
            WakeRegistered();
        }
    }

    /// <summary>Wakes every thread sleeping on this sequence, registered or not: for an alert,
    /// whose flag is not this sequence.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void WakeAll()
    {
        Volatile.Write(ref _cell.Sleepers, 0);
        _futex.WakeAll();
    }

    /// <summary>Registers the calling thread as a sleeper. Re-check the condition after this, and
    /// only then <see cref="Park"/>.</summary>
    /// <returns>The generation to pass to <see cref="Park"/>.</returns>
    /// <remarks>Full fence, then a process-wide barrier: the expensive half of the handshake.</remarks>
    public int BeginWait()
    {
        // The generation first: a writer that clears this registration bumps the generation after
        // clearing, so a sleep on the generation read here returns at once (see the type's remarks).
        int generation = _futex.Generation;
        Interlocked.Exchange(ref _cell.Sleepers, 1);
        Interlocked.MemoryBarrierProcessWide();
        return generation;
    }

    /// <summary>Sleeps until this sequence's writer wakes its sleepers after
    /// <paramref name="generation"/>, or the timeout (callers re-check their condition).</summary>
    /// <returns>True if a wake-up was issued, false on timeout.</returns>
    public bool Park(int generation, int timeoutMs) => _futex.Sleep(generation, timeoutMs);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WakeRegistered()
    {
        // One writer wakes; a racing one sees the flag cleared and pays nothing.
        if (Interlocked.Exchange(ref _cell.Sleepers, 0) != 0)
        {
            _futex.WakeAll();
            CountWake();
        }
    }

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The smallest value among <paramref name="sequences"/>, or <paramref name="minimum"/> if smaller.</summary>
    /// <remarks>Each read is an acquire; the result is a lower bound at the time of the last read.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Minimum(Sequence[] sequences, long minimum = long.MaxValue)
    {
        for (int i = 0; i < sequences.Length; i++)
        {
            long value = sequences[i].Value;
            if (value < minimum)
            {
                minimum = value;
            }
        }

        return minimum;
    }
}

/// <summary>
/// A sequence's value and its sleepers flag, with 56 bytes before the value and 60 after the flag:
/// any 64-byte line that holds either holds nothing else (no false sharing with neighbouring
/// objects). The two share a line unless the cell straddles one (the object is 8-byte aligned), so
/// the writer's read of the flag after its store usually hits the line it has just written.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct SequenceCell
{
    // padding: bytes 0..55 keep the previous fields' and object's data off the value's line.
    [FieldOffset(56)] public long Value;

    /// <summary>1 while a thread may sleep on the sequence; written by sleepers (rarely) and by the
    /// writer that wakes them.</summary>
    [FieldOffset(64)] public int Sleepers;
    // padding: bytes 68..127 keep the next object's data off the flag's line.
}

/// <summary>
/// A long with 56 bytes before it and 64 after: any 64-byte line that holds the value holds
/// nothing else, so writers of neighbouring objects never invalidate it (false sharing).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
public struct PaddedLong
{
    // padding: bytes 0..55 keep the previous object's data off this line.
    [FieldOffset(56)] public long Value;
    // padding: bytes 64..127 keep the next object's data off this line (and its prefetch pair).
}
