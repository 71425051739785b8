namespace EventDaemon.Daemon.Sources;

/// <summary>
/// One accepted connection of a stream source: its descriptor and its ingest (the framer's carry of
/// a line or frame cut across reads, nothing else of size). Owned by one I/O thread from adoption to
/// close; pooled by the source (with a bound) for the next connection.
/// </summary>
internal sealed class StreamConnection(StreamIngest ingest)
{
    public StreamIngest Ingest { get; } = ingest;

    /// <summary>The socket's descriptor; -1 while pooled.</summary>
    public int Fd { get; set; } = -1;

    /// <summary>Its slot in the owning thread's table: the epoll data of its registration.</summary>
    public int Index { get; set; }

    /// <summary>In the owning thread's epoll set (false while paused for a full ring).</summary>
    public bool Registered { get; set; }

    /// <summary>End of stream or a bad frame was met while paused: close once the ring has taken the rest.</summary>
    public bool CloseWhenResumed { get; set; }

    /// <summary><see cref="Environment.TickCount64"/> of the last read that brought data (or of adoption).</summary>
    public long LastActivity { get; set; }
}
