namespace EventDaemon.LoadGen.Bench;

/// <summary>Flat-out throughput of one system for one format, measured on the receiving side.</summary>
internal sealed record ThroughputResult(string System, string Format, double EventsPerSecond, double MegabytesPerSecond, double Seconds, long GcCollections, double AllocatedBytesPerEvent, long ResidentBytes);

/// <summary>Send → return latency of one system at one fixed rate, in nanoseconds.</summary>
internal sealed record LatencyResult(
    string System,
    string RateLabel,
    double Rate,
    double AchievedRate,
    long Sent,
    long Returned,
    long Recorded,
    long P50,
    long P90,
    long P99,
    long P999,
    long P9999,
    long Max,
    long SenderMaxLagNs,
    long? GcCollections,
    double? AllocatedBytesPerEvent,
    string DataFile);

/// <summary>The zero-GC run: eventd's throughput pipeline at a fixed rate for a long while.</summary>
internal sealed record SteadyStateResult(
    double Rate,
    double Seconds,
    long Events,
    long GcCollections,
    long AllocatedBytes,
    long RawAllocatedBytes,
    long StatsReadBytes,
    long ResidentBytes,
    long LockedBytes,
    long RssLimitBytes)
{
    public double AllocatedBytesPerEvent => Events == 0 ? double.NaN : (double)AllocatedBytes / Events;

    /// <summary>The regression check bench-e2e fails on.</summary>
    public bool ZeroGc => GcCollections == 0 && AllocatedBytesPerEvent < 0.01;
}

/// <summary>One target from the issue, with what was measured.</summary>
internal sealed record TargetCheck(string Name, string Target, string Measured, bool Pass);
