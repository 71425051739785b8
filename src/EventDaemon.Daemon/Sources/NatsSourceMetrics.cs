namespace EventDaemon.Daemon.Sources;

/// <summary>
/// What a nats source counts beyond every source's counters (<c>nats_*</c> in STATS.md). One
/// writer, the source's thread; read from any thread.
/// </summary>
/// <remarks>Every member is written with <see cref="Volatile.Write(ref long, long)"/> by its one writer and read with <see cref="Volatile.Read(ref readonly long)"/>.</remarks>
public sealed class NatsSourceMetrics
{
    private long _acks;
    private long _progressAcks;
    private long _redelivered;
    private long _poison;
    private long _inFlight;
    private long _ackLatencyNanos;
    private long _connects;
    private long _skipped;

    /// <summary>Messages acknowledged (<c>+ACK</c>): their events were held by every sink.</summary>
    public long Acks => Volatile.Read(ref _acks);

    /// <summary>Progress acknowledgements (<c>+WPI</c>) sent for messages held longer than half the <c>ack_wait</c>.</summary>
    public long ProgressAcks => Volatile.Read(ref _progressAcks);

    /// <summary>Messages that arrived with a delivery count above 1: another delivery of them came before (duplicates).</summary>
    public long Redelivered => Volatile.Read(ref _redelivered);

    /// <summary>Messages on their last delivery (<c>max_deliver</c>): if this one is not acknowledged, the server gives it up.</summary>
    public long Poison => Volatile.Read(ref _poison);

    /// <summary>Messages received and not acknowledged yet (in the ring, in a sink's batch, or waiting in a window).</summary>
    public long InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Sum over acknowledged messages of receive-to-ack time, in nanoseconds: with <see cref="Acks"/>, the mean.</summary>
    public long AckLatencyNanos => Volatile.Read(ref _ackLatencyNanos);

    /// <summary>Successful connections (handshake and consumer found), the first included.</summary>
    public long Connects => Volatile.Read(ref _connects);

    /// <summary>Messages received with no room to keep them (a late answer to an abandoned pull): not acknowledged, so delivered again.</summary>
    public long Skipped => Volatile.Read(ref _skipped);

    internal void AddAcks(long count, long latencyNanos)
    {
        Volatile.Write(ref _acks, _acks + count);
        Volatile.Write(ref _ackLatencyNanos, _ackLatencyNanos + latencyNanos);
    }

    internal void AddProgressAck() => Volatile.Write(ref _progressAcks, _progressAcks + 1);

    internal void AddRedelivered() => Volatile.Write(ref _redelivered, _redelivered + 1);

    internal void AddPoison() => Volatile.Write(ref _poison, _poison + 1);

    internal void SetInFlight(long count) => Volatile.Write(ref _inFlight, count);

    internal void AddConnect() => Volatile.Write(ref _connects, _connects + 1);

    internal void AddSkipped() => Volatile.Write(ref _skipped, _skipped + 1);
}
