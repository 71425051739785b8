namespace EventDaemon.LoadGen.Bench;

/// <summary>
/// Flat-out throughput of one system on one workload, measured on the receiving side, with the CPU
/// it used (the system's process, and the sender's threads) over the same window, and what the
/// machine left idle or lost to the hypervisor (steal) meanwhile.
/// </summary>
internal sealed record ThroughputResult(
    string Workload,
    string System,
    string Format,
    double EventsPerSecond,
    double MegabytesPerSecond,
    double Seconds,
    long GcCollections,
    double AllocatedBytesPerEvent,
    long ResidentBytes,
    CpuUse Cpu,
    CpuUse SenderCpu,
    double PassShare,
    double GroupsPerWindow,
    double IdleCores,
    double StealCores)
{
    /// <summary>Events/s of every round this result is the best of (one round: just its own).</summary>
    public IReadOnlyList<double> RoundRates { get; init; } = [];

    /// <summary>CPU time the system spent per event received.</summary>
    public double CpuNsPerEvent => Cpu.CpuNs / (EventsPerSecond * Seconds);
}

/// <summary>One row of the matrix: the workload, its floor, eventd and the baseline, or why it could not run.</summary>
internal sealed record WorkloadResult(Workload Workload, ThroughputResult? Floor, ThroughputResult? Eventd, ThroughputResult? Baseline, string? Failure)
{
    public double OfFloor => Eventd is null || Floor is null ? double.NaN : Eventd.EventsPerSecond / Floor.EventsPerSecond;

    public double OfBaseline => Eventd is null || Baseline is null ? double.NaN : Eventd.EventsPerSecond / Baseline.EventsPerSecond;

    /// <summary>Whether eventd met the row's target: throughput (and cores) where it has one, and 0 GC with &lt; 0.01 B/event.</summary>
    public bool TargetMet =>
        Failure is null && Eventd is not null
        && (Workload.FloorTarget is not double f || OfFloor >= f)
        && (Workload.CoresTarget is not double c || Eventd.Cpu.Cores >= c)
        && Eventd.GcCollections == 0 && Eventd.AllocatedBytesPerEvent < 0.01;
}

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

/// <summary>The zero-GC run: eventd on one workload at a fixed rate for a long while.</summary>
internal sealed record SteadyStateResult(
    string Workload,
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

/// <summary>
/// Acknowledgements with the journal on: binary frames with <c>ack_requested</c> at a fixed rate, the
/// time from a frame's append to the read of the ack that settled it (ns), beside a bare 4 KiB
/// <c>fdatasync</c> on the journal's filesystem measured in the same run; one row per pacing of the
/// sender and round, each on a daemon of its own.
/// </summary>
/// <param name="PaceMicros">0: frame by frame; N: a write every N µs, the wait between on the socket.</param>
/// <param name="ReceivedPerSecond">Frames the daemon received per second over the measured window.</param>
/// <param name="SenderCpu">The sending thread over the measured window.</param>
/// <param name="DaemonCpu">eventd's process over the measured window.</param>
/// <param name="IdleCores">What the machine left idle over the measured window (of its two cores).</param>
/// <param name="DaemonSyncP50">The journal's own <c>fdatasync</c> p50 since the daemon's start (<c>journal_sync_seconds</c>), ns.</param>
internal sealed record AckResult(
    string Name,
    long PaceMicros,
    int Round,
    double ReceivedPerSecond,
    CpuUse SenderCpu,
    CpuUse DaemonCpu,
    double IdleCores,
    long DaemonSyncP50,
    long DaemonSyncP99,
    double Rate,
    double AchievedRate,
    long Sent,
    long Acknowledged,
    long Unacknowledged,
    long Recorded,
    long P50,
    long P90,
    long P99,
    long P999,
    long Max,
    long SenderMaxLagNs,
    long Syncs,
    long SyncP50,
    long SyncP99,
    long SyncMax,
    long GcCollections,
    double AllocatedBytesPerEvent,
    string Filesystem)
{
    public double P50OfSync => SyncP50 <= 0 ? double.NaN : (double)P50 / SyncP50;

    /// <summary>How the sender paced its writes, in words.</summary>
    public string Pacing => PaceMicros == 0
        ? $"per frame ({1e6 / Rate:0.#} µs): sleeps to each frame's due time, one frame a write"
        : $"every {PaceMicros} µs ({PaceMicros * Rate / 1e6:0.#} frames a write): ppoll on the socket for acks between writes";

    public bool TargetMet => P50OfSync <= Workloads.AckToSyncTarget && Unacknowledged == 0 && GcCollections == 0;
}
