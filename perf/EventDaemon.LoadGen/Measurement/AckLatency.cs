using System.Diagnostics;
using EventDaemon.Client;
using HdrHistogram;

namespace EventDaemon.LoadGen.Measurement;

/// <summary>
/// Ack latency of one acknowledged connection: from a frame's append to the client (it leaves in
/// the same or the next write) to the read of the ack that settled it, in ns, in an HdrHistogram
/// (1 ns to 60 s, 3 significant digits). Frames appended before the warm-up ends are not recorded.
/// Written by the connection's sending thread only; nothing is allocated per frame.
/// </summary>
internal sealed class AckLatency(long recordFromTimestamp) : IAckObserver
{
    private const long MaxLatencyNs = 60_000_000_000;

    public LongHistogram Histogram { get; } = new(1, MaxLatencyNs, 3);

    public void OnAcknowledged(long appendedTimestamp, long ackedTimestamp)
    {
        if (appendedTimestamp < recordFromTimestamp)
        {
            return;
        }

        long ns = (ackedTimestamp - appendedTimestamp) * 1_000_000_000 / Stopwatch.Frequency;
        Histogram.RecordValue(Math.Clamp(ns, 1, MaxLatencyNs));
    }
}
