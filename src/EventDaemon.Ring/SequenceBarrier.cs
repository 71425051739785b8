using System.Runtime.CompilerServices;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Ring;

/// <summary>
/// What one stage waits on: publication by the producers, and completion by every stage it
/// depends on. A stage never reads a slot its barrier has not released.
/// </summary>
public sealed class SequenceBarrier
{
    private readonly Sequencer _sequencer;
    private readonly Sequence _cursor;
    private readonly Sequence[] _dependencies;
    private volatile bool _alerted;

    internal SequenceBarrier(Sequencer sequencer, Sequence[] dependencies)
    {
        _sequencer = sequencer;
        _cursor = sequencer.Cursor;
        _dependencies = dependencies;
    }

    /// <summary>The ring's wait signal, for parking wait strategies.</summary>
    public WaitSignal Signal => _sequencer.Signal;

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
    /// Waits until <paramref name="sequence"/> is available and returns the highest available
    /// sequence (a batch), or a <see cref="WaitResult"/> sentinel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long WaitFor<TWait>(ref TWait wait, long sequence, long deadline)
        where TWait : struct, IWaitStrategy
    {
        long available = wait.WaitFor(sequence, this, deadline);
        if (available < sequence)
        {
            return available;
        }

        return _sequencer.HighestPublished(sequence, available);
    }

    /// <summary>The highest sequence available now, without waiting (may be below <paramref name="sequence"/>).</summary>
    public long AvailableNow(long sequence)
    {
        long available = DependentMinimum;
        return available < sequence ? available : _sequencer.HighestPublished(sequence, available);
    }

    /// <summary>Wakes every waiter on this barrier with <see cref="WaitResult.Alerted"/>.</summary>
    /// <remarks>Volatile write, then a notification so parked waiters see it.</remarks>
    public void Alert()
    {
        _alerted = true;
        _sequencer.Signal.NotifyAll();
        Handoff?.Signal.NotifyAll();
    }
}
