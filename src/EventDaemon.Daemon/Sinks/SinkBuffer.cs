using System.Runtime.CompilerServices;

namespace EventDaemon.Daemon.Sinks;

/// <summary>
/// A sink's output for one batch: the bytes to write in one call, and the ingest time of each
/// event in them (for latency once written). Allocated once per sink, never grown.
/// </summary>
public sealed class SinkBuffer
{
    public SinkBuffer(int bytes, int events)
    {
        Bytes = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        IngestNanos = new long[events];
    }

    public byte[] Bytes { get; }

    public long[] IngestNanos { get; }

    public int Length { get; set; }

    public int Count { get; set; }

    public bool IsEmpty => Count == 0;

    /// <summary>Room for <paramref name="bytes"/> more bytes and one more event.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool HasRoom(int bytes) => Length + bytes <= Bytes.Length && Count < IngestNanos.Length;

    public Span<byte> Free => Bytes.AsSpan(Length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Commit(int bytes, long ingestNanos)
    {
        Length += bytes;
        IngestNanos[Count++] = ingestNanos;
    }

    public void Clear()
    {
        Length = 0;
        Count = 0;
    }
}

/// <summary>Tells a sink blocked on a failing destination to give up (after the drain timeout).</summary>
public sealed class SinkAbandon
{
    private volatile bool _abandoned;

    public bool IsAbandoned => _abandoned;

    public void Abandon() => _abandoned = true;
}
