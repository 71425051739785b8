using System.Runtime.CompilerServices;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring;

/// <summary>
/// What one stage waits on: publication by the producers, and completion by every stage it
/// depends on. A stage never reads a slot its barrier has not released.
/// </summary>
/// <remarks>
/// A waiter that must sleep sleeps on the one sequence it is behind (<see cref="Lagging"/>): the
/// cursor for a first-level stage, else a dependency. Only that sequence's writer wakes it — a
/// publish wakes the first-level stages, a batch end the stages after that stage — and a
/// dependency that did not move wakes nobody.
/// </remarks>
public sealed partial class SequenceBarrier
{
    private readonly Sequence _cursor;
    private readonly Sequence[] _dependencies;

    // Set only when slots must be checked one by one: a first-level stage of a multi-producer
    // ring, whose cursor counts claims. A dependency has only ever passed published slots, and a
    // single producer's cursor is the published prefix. Typed, so the check is a direct call.
    private readonly MultiProducerSequencer? _claims;

    // Whether publishes wake the cursor's sleepers: only then may a wait for a claimed slot sleep.
    private readonly bool _publishWakes;
    private volatile bool _alerted;

    internal SequenceBarrier(Sequencer sequencer, Sequence[] dependencies)
    {
        _cursor = sequencer.Cursor;
        _dependencies = dependencies;
        _claims = dependencies.Length == 0 ? sequencer as MultiProducerSequencer : null;
        _publishWakes = sequencer.NotifiesOnPublish;
    }

    /// <summary>Set when producers may run this barrier's stage while its thread is parked.</summary>
    internal IdleHandoff? Handoff { get; set; }

    /// <summary>The smallest sequence every dependency has reached: the cursor when there is none.</summary>
    /// <remarks>Acquire reads: slot contents up to the result are visible to the caller.</remarks>
    public long DependentMinimum
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _dependencies.Length == 0 ? _cursor.Value : Sequence.Minimum(_dependencies);
    }

    /// <remarks>Volatile read.</remarks>
    public bool IsAlerted => _alerted;

    /// <summary>
    /// Returns the highest available sequence (a batch) if <paramref name="sequence"/> is available,
    /// else waits with <paramref name="wait"/> and returns what it returns (or a <see cref="WaitResult"/>
    /// sentinel). Work already waiting costs no call into the wait strategy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long WaitFor<TWait>(ref TWait wait, long sequence, long deadline)
        where TWait : struct, IWaitStrategy
    {
        long available = DependentMinimum;
        if (available < sequence)
        {
            available = wait.WaitFor(sequence, this, deadline);
            if (available < sequence)
            {
                return available;
            }
        }

        return _claims is null ? available : Published(sequence, available);
    }

    /// <summary>The highest sequence available now, without waiting (may be below <paramref name="sequence"/>).</summary>
    public long AvailableNow(long sequence)
    {
        long available = DependentMinimum;
        return available < sequence || _claims is null ? available : _claims.HighestPublished(sequence, available);
    }

    /// <summary>The sequence to sleep on while <paramref name="sequence"/> is not available: the
    /// cursor, or the first dependency behind it; null when it is available.</summary>
    public Sequence? Lagging(long sequence)
    {
        if (_dependencies.Length == 0)
        {
            return _cursor.Value < sequence ? _cursor : null;
        }

        foreach (Sequence dependency in _dependencies)
        {
            if (dependency.Value < sequence)
            {
                return dependency;
            }
        }

        return null;
    }

    /// <summary>Wakes every waiter on this barrier with <see cref="WaitResult.Alerted"/>.</summary>
    /// <remarks>Volatile write, then an unconditional wake-up of every sequence a waiter may sleep
    /// on (the generation bump orders the write before a sleeper's re-check). Other stages sleeping
    /// on those sequences wake too and go back to sleep: only at halt.</remarks>
    public void Alert()
    {
        _alerted = true;
        if (_dependencies.Length == 0)
        {
            _cursor.WakeAll();
        }

        foreach (Sequence dependency in _dependencies)
        {
            dependency.WakeAll();
        }

        Handoff?.Signal.NotifyAll();
    }

    /// <summary>
    /// Multi-producer, first level: the cursor has passed <paramref name="sequence"/>, but a
    /// producer may still be filling it (claimed, not yet published). Usually that is a producer
    /// between two instructions, waited out by spinning briefly and yielding; but a claim made with
    /// fetch-and-add may also be waiting for space (the ring full behind a slow last stage), so a
    /// longer wait sleeps on the cursor, whose sleepers every publish wakes (when the ring notifies
    /// on publish, as it must for parking strategies; otherwise it keeps yielding, as those do).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long Published(long sequence, long available)
    {
        long published = _claims!.HighestPublished(sequence, available);
        return published >= sequence ? published : AwaitClaimed(sequence, available);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long AwaitClaimed(long sequence, long available)
    {
        // Spins and yields (with sleep1Threshold -1, never a 1 ms sleep) before the first sleep.
        const int Tries = 32;
        var spin = new SpinWait();
        // Pending, not "not available": a stage run by producers meanwhile (idle hand-off) may have
        // passed this sequence long ago, and its slot now holds a later lap; the caller then
        // re-reads its position.
        while (_claims!.IsPending(sequence))
        {
            if (_alerted)
            {
                return WaitResult.Alerted;
            }

            if (spin.Count < Tries || !_publishWakes)
            {
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }

            // The handshake of Sequence: a publish before BeginWait is seen by the re-check, one
            // after it (slot flag, then the cursor's sleepers flag) wakes this thread.
            int generation = _cursor.BeginWait();
            if (_claims.IsPending(sequence) && !_alerted &&
                !_cursor.Park(generation, Waiting.ParkingWait.MaxParkMs) &&
                !_claims.IsPending(sequence) && !_cursor.WokenSince(generation))
            {
                // Published after this registration, yet nobody woke it (see CountLostWakeUp).
                CountLostWakeUp();
            }
        }

        return _claims.HighestPublished(sequence, available);
    }
}
