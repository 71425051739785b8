namespace EventDaemon.Client;

/// <summary>How an <see cref="EventClient"/> batches and whether it asks for acknowledgements.</summary>
public sealed record EventClientOptions
{
    /// <summary>Bytes gathered before a socket write (without acks, the batch buffer's size).</summary>
    public int BatchBytes { get; init; } = EventClient.DefaultBatchBytes;

    /// <summary>
    /// Sets <c>ack_requested</c> on every frame and keeps each frame until the daemon's acks settle it
    /// (PROTOCOL.md §3); <see cref="EventClient.Reconnect"/> writes the unsettled ones again:
    /// at-least-once. Binary frames only (a JSON line cannot ask for acks).
    /// </summary>
    public bool RequestAcks { get; init; }

    /// <summary>Bytes of unsettled frames kept at most; a sender that reaches it waits for acks (backpressure).</summary>
    public int MaxUnacknowledgedBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Unsettled frames kept at most; as above.</summary>
    public int MaxUnacknowledgedFrames { get; init; } = 64 * 1024;

    /// <summary>Told of each settled frame (ack latency); null = nobody.</summary>
    public IAckObserver? AckObserver { get; init; }
}
