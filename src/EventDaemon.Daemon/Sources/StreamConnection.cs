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

    /// <summary>The acks waiting for the horizon, oldest first: the ingest's totals at the end of
    /// each loop turn that read something, each with the sequence that must be durable before it is
    /// sent. Several at once, so that each sync of the journal acknowledges everything it covered:
    /// with one point at a time a connection sending without pause was acked only every other sync,
    /// and its frames waited up to four syncs instead of two. Full, the newest point takes the newer
    /// totals (those frames wait for a later sync, nothing is acked early); allocated once, reused by
    /// the next connection.</summary>
    public AckPoint[] Points { get; } = new AckPoint[MaxPoints];

    /// <summary>Index in <see cref="Points"/> of the oldest point; <see cref="PointCount"/> are held.</summary>
    public int PointHead { get; set; }

    public int PointCount { get; set; }

    /// <summary>Points held at most: a power of two. A loop turn at 100k events/s lasts tens of
    /// microseconds and a sync a few hundred, so 16 turns cover the one or two syncs in flight.</summary>
    public const int MaxPoints = 16;

    /// <summary>The newest totals that are durable: what the next ack carries.</summary>
    public long DueAccepted { get; set; }

    public long DueRejected { get; set; }

    /// <summary>The totals of the last ack put on the wire (or being written).</summary>
    public long SentAccepted { get; set; }

    public long SentRejected { get; set; }

    /// <summary><c>TCP_NODELAY</c> was asked for, before the first ack: an ack is a whole message, and
    /// Nagle would hold it until the client's TCP acknowledged the previous one.</summary>
    public bool NoDelay { get; set; }

    /// <summary>The ack frame being written; <see cref="AckWritten"/> of its bytes are in the socket.</summary>
    public byte[] AckFrame { get; } = new byte[AckFrameWriter.FrameBytes];

    /// <summary>Bytes of <see cref="AckFrame"/> written; <see cref="AckFrameWriter.FrameBytes"/> when none is in flight.</summary>
    public int AckWritten { get; set; } = AckFrameWriter.FrameBytes;

    /// <summary>Clears the acknowledgement state for the next connection that reuses this one.</summary>
    public void ResetAcks()
    {
        Settling = false;
        Ended = false;
        PointHead = 0;
        PointCount = 0;
        NoDelay = false;
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
