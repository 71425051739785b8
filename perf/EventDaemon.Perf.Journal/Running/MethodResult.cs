using HdrHistogram;

namespace EventDaemon.Perf.Journal.Running;

/// <summary>Everything measured for one write method, merged over the rounds: the best rate of each
/// flat-out mode, and latency histograms added together.</summary>
internal sealed class MethodResult(string name, string description, bool preZeroed)
{
    public string Name { get; } = name;

    public string Description { get; } = description;

    public bool PreZeroed { get; } = preZeroed;

    public RunResult? GroupCommit { get; private set; }

    public RunResult? Never { get; private set; }

    public RunResult? Inline { get; private set; }

    public LongHistogram SinceWrite { get; } = new(10_000_000_000, 3);

    public LongHistogram SinceArrival { get; } = new(10_000_000_000, 3);

    public LongHistogram PacedSyncTimes { get; } = new(10_000_000_000, 3);

    public LongHistogram Baseline { get; } = new(10_000_000_000, 3);

    public long PacedSyncs { get; private set; }

    public long PacedRecords { get; private set; }

    public long PacedStalls { get; private set; }

    /// <summary>The most any writer thread of this method allocated in one run's loop.</summary>
    public long WriterAllocatedBytes { get; private set; }

    public long SyncerAllocatedBytes { get; private set; }

    /// <summary>Zeroing rate of the flat-out segments (MB/s): what a background thread preparing segments ahead must sustain.</summary>
    public double ZeroingMegabytesPerSecond { get; set; }

    public void AddFlatOut(RunResult run)
    {
        Account(run);
        switch (run.Mode)
        {
            case SyncMode.GroupCommit when GroupCommit is null || run.Writer.RecordsPerSecond > GroupCommit.Writer.RecordsPerSecond:
                GroupCommit = run;
                break;
            case SyncMode.Never when Never is null || run.Writer.RecordsPerSecond > Never.Writer.RecordsPerSecond:
                Never = run;
                break;
            case SyncMode.Inline when Inline is null || run.Writer.RecordsPerSecond > Inline.Writer.RecordsPerSecond:
                Inline = run;
                break;
        }
    }

    public void AddPaced(RunResult run, LongHistogram baseline)
    {
        Account(run);
        SinceWrite.Add(run.Syncer.SinceWrite!);
        SinceArrival.Add(run.Syncer.SinceArrival!);
        PacedSyncTimes.Add(run.Syncer.SyncTimes!);
        Baseline.Add(baseline);
        PacedSyncs += run.Syncer.Syncs;
        PacedRecords += run.Syncer.Records;
        PacedStalls += run.Writer.Stalls;
    }

    /// <summary>The first read-back failure of any run of this method; null when all checked.</summary>
    public string? Problem { get; private set; }

    private void Account(RunResult run)
    {
        Problem ??= run.Problem is null ? null : $"{ModeText(run)}: {run.Problem}";
        WriterAllocatedBytes = Math.Max(WriterAllocatedBytes, run.Writer.AllocatedBytes);
        SyncerAllocatedBytes = Math.Max(SyncerAllocatedBytes, run.Syncer.AllocatedBytes);
    }

    private static string ModeText(RunResult run) => run.Syncer.SinceWrite is null ? MethodRunner.ModeName(run.Mode) : "paced";
}
