namespace EventDaemon.Daemon.Sources;

/// <summary>
/// The highest main-ring sequence that is durable: what stream sources acknowledge against (binary
/// acks, the JSON half-close; PROTOCOL.md §3). With a journal, its synced sequence; without one,
/// what is published into the ring (<see cref="RingPublishedHorizon"/>).
/// </summary>
/// <remarks>
/// I/O threads read it once per loop turn while they have acknowledgements waiting, never per
/// event. A horizon that moves on its own thread (a journal's syncer) calls its listeners after
/// each move so that a waiting I/O thread need not poll: the call must not allocate or block.
/// </remarks>
public interface IDurableHorizon
{
    /// <summary>Every main-ring sequence up to and including this one is durable; -1 = none yet.</summary>
    /// <remarks>Acquire read: what a listener is told about is visible to the reader it wakes.</remarks>
    long DurableRingSequence { get; }

    /// <summary>Calls <paramref name="listener"/> after each move of <see cref="DurableRingSequence"/>,
    /// from then on, until <see cref="Unsubscribe"/>. A horizon that never moves by itself may ignore it.</summary>
    void Subscribe(IDurableHorizonListener listener);

    void Unsubscribe(IDurableHorizonListener listener);
}

/// <summary>Told that <see cref="IDurableHorizon.DurableRingSequence"/> moved.</summary>
public interface IDurableHorizonListener
{
    /// <summary>Called on the horizon's thread, after the new value is stored (release) and before
    /// it is read again by anyone waiting (the listener issues its own full fence).</summary>
    void DurableHorizonMoved();
}
