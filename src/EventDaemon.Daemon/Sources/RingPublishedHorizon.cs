using EventDaemon.Events.Ingest;

namespace EventDaemon.Daemon.Sources;

/// <summary>
/// The durable horizon without a journal: an event counts as kept once it is published into the
/// ring (SPEC §7), which is what the I/O thread that appended it has just done. Nothing to wait
/// for, so nobody is woken: the thread settles its acks on the same loop turn.
/// </summary>
public sealed class RingPublishedHorizon(EventRing ring) : IDurableHorizon
{
    /// <remarks>Acquire read of the ring's cursor.</remarks>
    public long DurableRingSequence => ring.Sequencer.Cursor.Value;

    public void Subscribe(IDurableHorizonListener listener)
    {
    }

    public void Unsubscribe(IDurableHorizonListener listener)
    {
    }
}
