namespace EventDaemon.Daemon.Sources;

/// <summary>
/// One accepted connection of a stream source: its descriptor, its ingest (the framer's carry of
/// a line or frame cut across reads, nothing else of size) and its acknowledgement state (one
/// 24-byte ack frame). Owned by one I/O thread from adoption to close; pooled by the source (with a
/// bound) for the next connection.
/// </summary>
internal sealed class StreamConnection(StreamIngest ingest)
{
    public StreamIngest Ingest { get; } = ingest;

    /// <summary>The socket's descriptor; -1 while pooled.</summary>
    public int Fd { get; set; } = -1;

    /// <summary>Its slot in the owning thread's table: the epoll data of its registration.</summary>
    public int Index { get; set; }

    /// <summary>In the owning thread's epoll set (false while paused for a full ring, or once ended).</summary>
    public bool Registered { get; set; }

    /// <summary>End of stream or a bad frame was met while paused: close once the ring has taken the rest.</summary>
    public bool CloseWhenResumed { get; set; }

    /// <summary><see cref="Environment.TickCount64"/> of the last read that brought data (or of adoption).</summary>
    public long LastActivity { get; set; }

    /// <summary>In the owning thread's list of connections waiting on the durable horizon or on their ack's write.</summary>
    public bool Settling { get; set; }

    /// <summary>Nothing more is read from it (end of stream, a bad frame, a stop): it closes once settled.</summary>
    public bool Ended { get; set; }

    /// <summary>The ack waiting for the horizon: the ingest's totals when they were taken, and the
    /// sequence that must be durable first. Kept apart from the live totals so that a connection
    /// sending without pause is acked one durable step behind, not starved by a target that moves.</summary>
    public AckPoint Waiting;

    /// <summary>Whether <see cref="Waiting"/> holds a point.</summary>
    public bool HasWaiting { get; set; }

    /// <summary>The newest totals that are durable: what the next ack carries.</summary>
    public long DueAccepted { get; set; }

    public long DueRejected { get; set; }

    /// <summary>The totals of the last ack put on the wire (or being written).</summary>
    public long SentAccepted { get; set; }

    public long SentRejected { get; set; }

    /// <summary>The ack frame being written; <see cref="AckWritten"/> of its bytes are in the socket.</summary>
    public byte[] AckFrame { get; } = new byte[AckFrameWriter.FrameBytes];

    /// <summary>Bytes of <see cref="AckFrame"/> written; <see cref="AckFrameWriter.FrameBytes"/> when none is in flight.</summary>
    public int AckWritten { get; set; } = AckFrameWriter.FrameBytes;

    /// <summary>Clears the acknowledgement state for the next connection that reuses this one.</summary>
    public void ResetAcks()
    {
        Settling = false;
        Ended = false;
        HasWaiting = false;
        Waiting = default;
        DueAccepted = 0;
        DueRejected = 0;
        SentAccepted = 0;
        SentRejected = 0;
        AckWritten = AckFrameWriter.FrameBytes;
    }
}

/// <summary>Ack totals and the ring sequence that must be durable before they are sent.</summary>
internal struct AckPoint
{
    public long Sequence;
    public long Accepted;
    public long Rejected;
}
