namespace EventDaemon.LoadGen.Sending;

/// <summary>What a run sent.</summary>
internal sealed record SendResult(long Events, long Bytes, long StartNs, long EndNs, long MaxLagNs, long Errors)
{
    /// <summary>With acks: append-to-ack latency of every connection's frames after the warm-up, ns.</summary>
    public HdrHistogram.HistogramBase? AckLatency { get; init; }

    /// <summary>With acks: frames settled by the daemon's acks, and frames left unsettled at the end.</summary>
    public long Acknowledged { get; init; }

    public long Unacknowledged { get; init; }

    public double Seconds => (EndNs - StartNs) / 1e9;

    public double EventsPerSecond => Events / Math.Max(Seconds, 1e-9);

    public double MegabytesPerSecond => Bytes / 1e6 / Math.Max(Seconds, 1e-9);
}
