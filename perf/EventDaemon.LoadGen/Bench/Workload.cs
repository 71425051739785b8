using EventDaemon.LoadGen.Generation;

namespace EventDaemon.LoadGen.Bench;

/// <summary>
/// One row of the throughput matrix: the events, the format and the pipeline that eventd (and the
/// baseline, doing the same in code) runs flat out, and the target it is judged against.
/// </summary>
internal sealed record Workload
{
    public required string Name { get; init; }

    public required EventFormat Format { get; init; }

    public required EventShape Shape { get; init; }

    /// <summary>Events rendered before the run; the sender cycles through them.</summary>
    public required int PoolSize { get; init; }

    /// <summary>The filter's condition, as written into eventd's config.</summary>
    public required string Condition { get; init; }

    public required string[] GroupBy { get; init; }

    public required string[] Metrics { get; init; }

    /// <summary>Written as the aggregate's <c>max_groups</c> when set; else the daemon's default (100 000).</summary>
    public int? MaxGroups { get; init; }

    /// <summary>Share of events the filter lets through, from the shape: the run checks it measured this.</summary>
    public required double ExpectedPass { get; init; }

    /// <summary>Groups a 1 s window can hold at most, from the shape (the window holds fewer when fewer events pass in a second).</summary>
    public required long GroupsBound { get; init; }

    /// <summary>The baseline's <c>--pipeline</c>: the same filter and aggregate, in code.</summary>
    public required string BaselinePipeline { get; init; }

    /// <summary>Wanted events/s as a share of the line-count floor's; null: no throughput target.</summary>
    public double? FloorTarget { get; init; }

    /// <summary>CPU cores eventd must use while meeting <see cref="FloorTarget"/>; null: none.</summary>
    public double? CoresTarget { get; init; }

    /// <summary>Seconds sent before the measured window: the 1M-group table touches its pages in the first window.</summary>
    public double WarmupSeconds { get; init; } = 2;

    /// <summary>eventd runs with <c>[journal] fsync = "batch"</c> (segments in the run's directory, on its disk); no baseline runs beside it.</summary>
    public bool Journal { get; init; }

    /// <summary>
    /// The journal with 64 MiB segments and a retention of eight (each segment retention lets go
    /// ended more than a second earlier, what retention's once-a-second run needs to have seen it
    /// delivered): the warm-up writes past nine segments, so the measured window writes into recycled segments (what a journal does once it
    /// holds its retention), not into freshly zeroed ones.
    /// </summary>
    public bool JournalRecycling { get; init; }

    /// <summary>What it is, in a line: events, filter, grouping, metrics.</summary>
    public string Describe(int connections) =>
        $"{(Format == EventFormat.Json ? "JSON lines" : "binary frames (client library)")}, {Shape}; {connections} TCP connection(s) flat out → " +
        $"filter `{Condition}` (passes ~{ExpectedPass * 100:0.#} %) → aggregate 1 s processing time by {string.Join(", ", GroupBy)} " +
        $"({string.Join(" ", Metrics)}; ≤ {GroupsBound:N0} groups a window{(MaxGroups is int m ? $", max_groups = {m:N0}" : "")}) → blackhole" +
        (Journal ? (JournalRecycling
            ? "; with `[journal] fsync = \"batch\"`, `segment_bytes = \"64MiB\"`, `retention_bytes = \"512MiB\"` (measured after the warm-up has recycled the first segment: no zeroing; group commit, on the run directory's disk)"
            : "; with `[journal] fsync = \"batch\"` (default 128 MiB segments, a fresh journal: every segment zeroed before use; group commit, on the run directory's disk)") : "");

    public string TargetText =>
        Journal
            ? $"≥ {Workloads.JournalThroughputTarget * 100:0} % of {Workloads.PerKey} (journal off); 0 GC; < 0.01 B/event"
            : FloorTarget is double f
            ? $"≥ {f * 100:0} % of floor{(CoresTarget is double c ? $" using ≥ {c:0.0#} cores" : "")}; 0 GC; < 0.01 B/event"
            : "0 GC; < 0.01 B/event";
}

/// <summary>The matrix, realistic rows first.</summary>
internal static class Workloads
{
    public const string PerKey = "per-key";
    public const string PerKeyJournal = "per-key-journal";
    public const string PerKey1M = "per-key-1m";
    public const string ByType = "by-type";
    public const string Binary = "binary";

    /// <summary>Sections of <c>--workloads</c> that are not throughput rows.</summary>
    public const string Latency = "latency";
    public const string Steady = "steady";

    /// <summary>Ack latency at <see cref="AckRate"/> with the journal on, beside a bare fdatasync on the same disk.</summary>
    public const string Acks = "acks";

    /// <summary>The acks row at a pacing: <c>acks</c> frame by frame, <c>acks-100us</c> paced every 100 µs.</summary>
    public static string AckRow(long paceMicros) => paceMicros == 0 ? Acks : $"{Acks}-{paceMicros}us";

    /// <summary>Events/s with the journal on (fsync = "batch"), as a share of the same workload without it.</summary>
    public const double JournalThroughputTarget = 0.80;

    /// <summary>Ack latency p50 at most this many times a bare 4 KiB fdatasync's p50 on the same filesystem.</summary>
    public const double AckToSyncTarget = 3.0;

    /// <summary>The acks' fixed rate, events/s.</summary>
    public const double AckRate = 100_000;

    /// <summary>The per-key pipeline's filter, as a user wrote it.</summary>
    public const string PerKeyCondition = "value >= 10 && .region != \"ap\"";

    /// <summary>
    /// Binary frames carry no named fields, so <c>.region</c> is always missing for them and every
    /// comparison with it is false (EXPRESSIONS.md): the binary row keeps only the value test.
    /// </summary>
    public const string BinaryCondition = "value >= 10";

    public const string ByTypeCondition = "type == \"purchase\" || type == \"click\"";

    private const int PoolSize = 65_536;
    private const int MillionGroups = 1_000_000;

    /// <summary>
    /// ~107-byte events with a 19-digit nanosecond <c>ts</c>, three types, 5,000 keys (15,000
    /// groups), <c>value</c> uniform in [0, 100) so 10 % are below 10, <c>region</c> 15 % "ap",
    /// and a padding field <c>msg</c>.
    /// </summary>
    public static EventShape PerKeyShape(bool distinctGroups = false) => new()
    {
        Types = EventShape.ParseWeights("view:50,click:30,purchase:20"),
        Regions = EventShape.ParseWeights("eu:45,us:40,ap:15"),
        KeyCardinality = 5_000,
        DistinctGroups = distinctGroups,
        ValueMin = 0,
        ValueMax = 100,
        MeanSize = 107,
    };

    public static readonly string[] All = [PerKey, PerKeyJournal, PerKey1M, ByType, Binary];

    public static Workload Get(string name)
    {
        EventShape shape = PerKeyShape();
        double perKeyPass = (1 - shape.ShareBelow(10)) * (1 - shape.ShareOfRegion("ap"));
        string[] perKeyMetrics = ["count", "sum", "max", "p99"];
        return name switch
        {
            PerKey => new Workload
            {
                Name = PerKey,
                Format = EventFormat.Json,
                Shape = shape,
                PoolSize = PoolSize,
                Condition = PerKeyCondition,
                GroupBy = ["type", "key"],
                Metrics = perKeyMetrics,
                ExpectedPass = perKeyPass,
                GroupsBound = (long)shape.Types.Length * shape.KeyCardinality,
                BaselinePipeline = PerKey,
                FloorTarget = 0.20,
                CoresTarget = 1.8,
            },

            // Every event in the pool is its own group and the pool holds 1M / pass events, so a
            // window holds one group per event that passed in that second, up to 1M.
            // The per-key row again, eventd only, with the journal on: its ratio to per-key is the journal's cost.
            PerKeyJournal => Get(PerKey) with { Name = PerKeyJournal, Journal = true, FloorTarget = null, CoresTarget = null },
            PerKey1M => new Workload
            {
                Name = PerKey1M,
                Format = EventFormat.Json,
                Shape = PerKeyShape(distinctGroups: true),
                PoolSize = (int)Math.Round(MillionGroups / perKeyPass),
                Condition = PerKeyCondition,
                GroupBy = ["type", "key"],
                Metrics = perKeyMetrics,
                // Two windows' groups meet at a boundary, until the old one is flushed.
                MaxGroups = 2_500_000,
                ExpectedPass = perKeyPass,
                GroupsBound = MillionGroups,
                BaselinePipeline = PerKey,
                FloorTarget = 0.10,
                WarmupSeconds = 3,
            },
            ByType => new Workload
            {
                Name = ByType,
                Format = EventFormat.Json,
                Shape = shape,
                PoolSize = PoolSize,
                Condition = ByTypeCondition,
                GroupBy = ["type"],
                Metrics = ["count", "sum", "p99"],
                ExpectedPass = shape.ShareOfTypes("purchase", "click"),
                GroupsBound = 2,
                BaselinePipeline = ByType,
                FloorTarget = 0.25,
            },
            Binary => new Workload
            {
                Name = Binary,
                Format = EventFormat.Binary,
                Shape = shape,
                PoolSize = PoolSize,
                Condition = BinaryCondition,
                GroupBy = ["type", "key"],
                Metrics = perKeyMetrics,
                ExpectedPass = 1 - shape.ShareBelow(10),
                GroupsBound = (long)shape.Types.Length * shape.KeyCardinality,
                BaselinePipeline = PerKey,
            },
            _ => throw new ArgumentException($"unknown workload '{name}' (workloads: {string.Join(", ", All)}; sections: {Latency}, {Steady}, {Acks})"),
        };
    }
}
