namespace EventDaemon.Daemon.Sources;

/// <summary>
/// The highest main-ring sequence that is durable: what stream sources acknowledge against (binary
/// acks, the JSON half-close; PROTOCOL.md §3). With a journal, its synced sequence; without one,
/// what is published into the ring (<see cref="RingPublishedHorizon"/>).
/// </summary>
/// <remarks>
/// I/O threads read it once per loop turn while they have acknowledgements waiting, never per
/// event, and do not poll it: a horizon that moves on a thread other than the I/O thread that
/// published (a journal's syncer, or its stage with <c>fsync = "never"</c>) must call its listeners
/// after each move, or a waiting ack waits for the connection's next read. The call must not
/// allocate or block.
/// </remarks>
public interface IDurableHorizon
{
    /// <summary>Every main-ring sequence up to and including this one is durable; -1 = none yet.</summary>
    /// <remarks>Acquire read: what a listener is told about is visible to the reader it wakes.</remarks>
    long DurableRingSequence { get; }

    /// <summary>Calls <paramref name="listener"/> after each move of <see cref="DurableRingSequence"/>,
    /// from then on, until <see cref="Unsubscribe"/>. A horizon that moves only when an I/O thread
    /// publishes (that thread settles on the same turn) may ignore it.</summary>
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
