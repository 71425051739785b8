namespace EventDaemon.Perf.Journal.Running;

/// <summary>Sizes and durations of one benchmark invocation (full or QUICK).</summary>
internal sealed record RunSettings(
    string Directory,
    long FlatSegmentBytes,
    double FlatSeconds,
    long PacedSegmentBytes,
    double PacedSeconds,
    int BaselineSyncs,
    int Rounds)
{
    /// <summary>Records per group when the writer runs flat out: 256 × 152 B ≈ 38 KiB, about what
    /// one batch of a busy ring hands the journal stage at a few million events a second.</summary>
    public const int FlatGroupRecords = 256;

    /// <summary>The most records one paced group takes: the writer writes what has arrived since its last group.</summary>
    public const int PacedGroupRecords = 256;

    /// <summary>Inline mode: the writer syncs after every 1,024 records (four flat-out groups), the
    /// "sync every 1,000 records" figure of issue 13.</summary>
    public const int InlineSyncRecords = 1024;

    /// <summary>The paced rate: SPEC §7's acknowledgement target is stated at 100k events/s.</summary>
    public const long PacedRate = 100_000;

    public static RunSettings Full(string directory) => new(directory, 512L << 20, 1.0, 64L << 20, 3.0, 1000, 1);

    public static RunSettings Quick(string directory) => new(directory, 256L << 20, 0.4, 32L << 20, 1.0, 300, 1);

    /// <summary>A few seconds in all: shows that every method runs and allocates nothing; its numbers mean nothing.</summary>
    public static RunSettings Smoke(string directory) => new(directory, 16L << 20, 0.05, 8L << 20, 0.2, 50, 1);
}
