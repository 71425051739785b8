namespace EventDaemon.Daemon.Config.Internal;

/// <summary>Every name the config language knows: tables, types and enumerated values.</summary>
internal static class ConfigNames
{
    public const string Daemon = "daemon";
    public const string Sources = "sources";
    public const string Transforms = "transforms";
    public const string Sinks = "sinks";
    public const string Journal = "journal";

    /// <summary><c>[[tests]]</c>: run by <c>eventd test</c>, accepted and ignored by <c>run</c> and <c>validate</c>.</summary>
    public const string Tests = "tests";

    public static readonly string[] TopLevelTables = [Daemon, Sources, Transforms, Sinks, Journal];

    public static readonly string[] DaemonKeys =
    [
        "control_socket", "ring_size", "arena_size", "max_event_bytes", "wait_strategy",
        "consumer_cpus", "lock_memory", "state_dir", "errors_kept", "drain_timeout",
        "fuse_chains", "idle_handoff", "io_threads", "http", "log_format",
    ];

    public static readonly string[] SourceTypes = ["tcp", "udp", "unix", "nats"];

    public static readonly string[] TransformTypes = ["filter", "aggregate", "enrich", "route", "sample", "throttle", "dedupe"];

    public static readonly string[] SinkTypes = ["stdout", "file", "tcp", "blackhole", "nats"];

    /// <summary>The keys each source type reads beyond <c>type</c>, <c>format</c> and <c>max_event_bytes</c>.</summary>
    public static readonly Dictionary<string, string[]> SourceKeys = new(StringComparer.Ordinal)
    {
        ["tcp"] = ["address", "max_connections", "idle_timeout"],
        ["udp"] = ["address"],
        ["unix"] = ["path", "max_connections", "idle_timeout"],
        ["nats"] = ["url", "stream", "subject", "consumer", "batch", "ack_wait", "max_ack_pending", "max_deliver", "partitions", "partition_count",
            "lease_bucket", "lease_ttl"],
    };

    /// <summary>The keys each transform type reads beyond <c>type</c> and <c>inputs</c>.</summary>
    public static readonly Dictionary<string, string[]> TransformKeys = new(StringComparer.Ordinal)
    {
        ["filter"] = ["condition", "threads"],
        ["aggregate"] = ["window", "group_by", "metrics", "time", "allowed_lateness", "max_groups", "threads"],
        ["enrich"] = ["field", "table", "key_column", "columns", "threads"],
        ["route"] = ["routes", "threads"],
        ["sample"] = ["rate", "key", "threads"],
        ["throttle"] = ["limit", "key", "max_keys", "threads"],
        ["dedupe"] = ["field", "window", "max_keys", "threads"],
    };

    /// <summary>The keys each sink type reads beyond <c>type</c> and <c>inputs</c>.</summary>
    public static readonly Dictionary<string, string[]> SinkKeys = new(StringComparer.Ordinal)
    {
        ["stdout"] = [],
        ["file"] = ["path", "rotate_bytes", "fsync", "fsync_interval"],
        ["tcp"] = ["address", "buffer_bytes", "max_backoff"],
        ["blackhole"] = [],
        ["nats"] = ["url", "subject", "partition_by", "partitions"],
    };

    public static readonly Choices<WaitStrategyKind> WaitStrategies = new(
        ("adaptive", WaitStrategyKind.Adaptive),
        ("busy-spin", WaitStrategyKind.BusySpin),
        ("yielding", WaitStrategyKind.Yielding),
        ("sleeping", WaitStrategyKind.Sleeping),
        ("blocking", WaitStrategyKind.Blocking));

    public static readonly Choices<LogFormat> LogFormats = new(
        ("text", LogFormat.Text),
        ("json", LogFormat.Json));

    public static readonly Choices<SourceFormat> Formats = new(
        ("json", SourceFormat.Json),
        ("binary", SourceFormat.Binary));

    public static readonly Choices<AggregateMetric> Metrics = new(
        ("count", AggregateMetric.Count),
        ("sum", AggregateMetric.Sum),
        ("min", AggregateMetric.Min),
        ("max", AggregateMetric.Max),
        ("mean", AggregateMetric.Mean),
        ("p50", AggregateMetric.P50),
        ("p90", AggregateMetric.P90),
        ("p99", AggregateMetric.P99),
        ("p999", AggregateMetric.P999));

    public static readonly Choices<AggregateTime> Times = new(
        ("processing", AggregateTime.Processing),
        ("event", AggregateTime.Event));

    public static readonly Choices<FsyncPolicy> FsyncPolicies = new(
        ("never", FsyncPolicy.Never),
        ("interval", FsyncPolicy.Interval),
        ("always", FsyncPolicy.Always));

    /// <summary>Component and route output names: they appear in <c>inputs</c>, metric labels and log lines.</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    public static string KindName(ComponentKind kind) => kind switch
    {
        ComponentKind.Source => "source",
        ComponentKind.Transform => "transform",
        _ => "sink",
    };
}
