using EventDaemon.Events.BadInput;

namespace EventDaemon.Daemon.Metrics;

/// <summary>Why a source dropped events it had received (the <c>reason</c> label).</summary>
public enum DropReason
{
    RingFull = 0,
    MaxConnections = 1,

    /// <summary>A connection accepted and closed at once: the process is at its descriptor limit.</summary>
    FdLimit = 2,
}

/// <summary>Why a stream source closed a connection itself (the <c>reason</c> label).</summary>
public enum CloseReason
{
    /// <summary>Silent for the source's <c>idle_timeout</c>.</summary>
    IdleTimeout = 0,

    /// <summary>A binary frame with a bad length or version: no boundary left to resync on.</summary>
    BadFrame = 1,
}

/// <summary>
/// Counters of one source. A source has several writer threads (one per connection), so each
/// thread accumulates a read's worth locally and adds it here once per read: one atomic add per
/// counter per socket read, not per event.
/// </summary>
public sealed class SourceMetrics
{
    public static readonly string[] DropLabels = ["ring_full", "max_connections", "fd_limit"];

    public static readonly string[] CloseLabels = ["idle_timeout", "bad_frame"];

    private readonly long[] _invalid = new long[InvalidReasons.Count];
    private readonly long[] _frameErrors = new long[FrameErrors.Count];
    private readonly long[] _dropped = new long[DropLabels.Length];
    private readonly long[] _closed = new long[CloseLabels.Length];
    private long _received;
    private long _bytes;
    private long _connections;
    private long _oversized;
    private long _acksSent;

    public SourceMetrics(string name, ushort id)
    {
        Name = name;
        Id = id;
    }

    public string Name { get; }

    public ushort Id { get; }

    public long Received => Volatile.Read(ref _received);

    public long Bytes => Volatile.Read(ref _bytes);

    public long ConnectionsOpen => Volatile.Read(ref _connections);

    public long Oversized => Volatile.Read(ref _oversized);

    /// <summary>Ack frames written whole to binary clients that asked for them (PROTOCOL.md §3).</summary>
    public long AcksSent => Volatile.Read(ref _acksSent);

    /// <remarks>Full fence (atomic add).</remarks>
    public void AddReceived(long events, long bytes)
    {
        if (events != 0)
        {
            Interlocked.Add(ref _received, events);
        }

        if (bytes != 0)
        {
            Interlocked.Add(ref _bytes, bytes);
        }
    }

    public void AddInvalid(InvalidReason reason, long count = 1)
    {
        if (reason == InvalidReason.Oversized)
        {
            Interlocked.Add(ref _oversized, count);
        }
        else
        {
            Interlocked.Add(ref _invalid[(int)reason], count);
        }
    }

    public void AddFrameError(FrameError error) => Interlocked.Increment(ref _frameErrors[(int)error]);

    public void AddDropped(DropReason reason, long count = 1) => Interlocked.Add(ref _dropped[(int)reason], count);

    public void AddClosed(CloseReason reason) => Interlocked.Increment(ref _closed[(int)reason]);

    /// <remarks>Full fence (atomic add); once per ack, never per event.</remarks>
    public void AddAckSent() => Interlocked.Increment(ref _acksSent);

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);

    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);

    /// <summary>Non-zero invalid counts by reason label (labels that depend on traffic appear with their first sample).</summary>
    public IEnumerable<(string Reason, long Count)> InvalidByReason()
    {
        for (int i = 1; i < _invalid.Length; i++)
        {
            long n = Volatile.Read(ref _invalid[i]);
            if (n != 0)
            {
                yield return (((InvalidReason)i).Label(), n);
            }
        }

        for (int i = 1; i < _frameErrors.Length; i++)
        {
            long n = Volatile.Read(ref _frameErrors[i]);
            if (n != 0)
            {
                yield return (((FrameError)i).Label(), n);
            }
        }
    }

    public IEnumerable<(string Reason, long Count)> DroppedByReason()
    {
        for (int i = 0; i < _dropped.Length; i++)
        {
            long n = Volatile.Read(ref _dropped[i]);
            if (n != 0)
            {
                yield return (DropLabels[i], n);
            }
        }
    }

    /// <summary>Connections the source closed itself, by reason (labels appear with their first sample).</summary>
    public IEnumerable<(string Reason, long Count)> ClosedByReason()
    {
        for (int i = 0; i < _closed.Length; i++)
        {
            long n = Volatile.Read(ref _closed[i]);
            if (n != 0)
            {
                yield return (CloseLabels[i], n);
            }
        }
    }
}
