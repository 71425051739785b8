namespace EventDaemon.Client;

/// <summary>
/// The fields of one event to encode as a binary frame. Absent fields are simply not set; a
/// present but empty <c>type</c>/<c>key</c> is expressed with <see cref="HasType"/>/<see cref="HasKey"/>.
/// </summary>
public readonly ref struct FrameEvent
{
    private readonly bool _hasType;
    private readonly bool _hasKey;

    /// <summary>Event time, Unix nanoseconds; null = the daemon uses its ingest time.</summary>
    public long? Timestamp { get; init; }

    /// <summary>The <c>value</c> field; must be finite (the daemon skips frames with NaN or infinity).</summary>
    public double? Value { get; init; }

    /// <summary>UTF-8 bytes of <c>type</c> (not JSON-escaped), at most 65535.</summary>
    public ReadOnlySpan<byte> Type { get; init; }

    /// <summary>UTF-8 bytes of <c>key</c> (not JSON-escaped), at most 65535.</summary>
    public ReadOnlySpan<byte> Key { get; init; }

    /// <summary>Opaque bytes carried with the event.</summary>
    public ReadOnlySpan<byte> Payload { get; init; }

    /// <summary>Sets <c>ack_requested</c> (flag bit 4): the connection gets ack frames back
    /// (PROTOCOL.md §3). <see cref="EventClient"/> sets it itself when it was asked for acks.</summary>
    public bool AckRequested { get; init; }

    /// <summary>True when <see cref="Type"/> is non-empty, or when set explicitly for an empty type.</summary>
    public bool HasType
    {
        get => _hasType || !Type.IsEmpty;
        init => _hasType = value;
    }

    /// <summary>True when <see cref="Key"/> is non-empty, or when set explicitly for an empty key.</summary>
    public bool HasKey
    {
        get => _hasKey || !Key.IsEmpty;
        init => _hasKey = value;
    }
}
