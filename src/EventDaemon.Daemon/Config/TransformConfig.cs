namespace EventDaemon.Daemon.Config;

/// <summary>A <c>[transforms.NAME]</c> table: a stage between sources and sinks.</summary>
public abstract record TransformConfig : StageConfig
{
    protected TransformConfig(string name, ConfigPosition position, EquatableArray<string> inputs)
        : base(name, position, inputs)
    {
    }

    public sealed override ComponentKind Kind => ComponentKind.Transform;

    /// <summary>Threads the transform runs on (<c>threads</c>): 1 by default; <see cref="AutoThreads"/>
    /// for <c>"auto"</c> (one per CPU the daemon may use). Each thread takes a share of the events: by
    /// key hash for keyed transforms, by sequence for the others (see the Config README).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>The value of <see cref="Threads"/> for <c>threads = "auto"</c>.</summary>
    public const int AutoThreads = 0;

    /// <summary>The most threads one transform may run on.</summary>
    public const int MaxThreads = 64;
}

/// <summary><c>type = "filter"</c>: keeps the events for which <see cref="Condition"/> is true.</summary>
public sealed record FilterTransformConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs, string Condition)
    : TransformConfig(Name, Position, Inputs)
{
    public override string TypeName => "filter";
}

/// <summary><c>type = "aggregate"</c>: tumbling windows of metrics per group.</summary>
/// <param name="GroupBy">Empty: one group per window.</param>
/// <param name="Metrics">In the order the config lists them, which is the order of the output fields.</param>
/// <param name="AllowedLateness">Only meaningful for <see cref="AggregateTime.Event"/>.</param>
public sealed record AggregateTransformConfig(
    string Name,
    ConfigPosition Position,
    EquatableArray<string> Inputs,
    Duration Window,
    EquatableArray<FieldRef> GroupBy,
    EquatableArray<AggregateMetric> Metrics,
    AggregateTime Time,
    Duration AllowedLateness,
    int MaxGroups)
    : TransformConfig(Name, Position, Inputs)
{
    /// <summary>
    /// 100 000 groups: a few tens of MiB of unmanaged group state with percentile sketches, enough
    /// for per-user keys on a busy service; overflow is counted, never an out-of-memory.
    /// </summary>
    public const int DefaultMaxGroups = 100_000;

    public override string TypeName => "aggregate";
}

/// <summary><c>type = "enrich"</c>: joins <see cref="Field"/> against the first column (or <see cref="KeyColumn"/>) of a CSV table.</summary>
/// <param name="Table">Absolute path of the CSV file (a relative path in the config is relative to the config file).</param>
/// <param name="KeyColumn">The CSV column to join on; <c>null</c> = the first column.</param>
/// <param name="Columns">The columns to add; empty = every column but the key.</param>
public sealed record EnrichTransformConfig(
    string Name, ConfigPosition Position, EquatableArray<string> Inputs, FieldRef Field, string Table, string? KeyColumn, EquatableArray<string> Columns)
    : TransformConfig(Name, Position, Inputs)
{
    public override string TypeName => "enrich";
}

/// <summary>
/// <c>type = "route"</c>: marks each event with the outputs whose condition it meets; downstream
/// stages read one output as <c>NAME.OUTPUT</c>, and <c>NAME._unmatched</c> gets the events that
/// met none.
/// </summary>
public sealed record RouteTransformConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs, EquatableArray<RouteOutput> Routes)
    : TransformConfig(Name, Position, Inputs)
{
    public const string UnmatchedOutput = "_unmatched";

    public override string TypeName => "route";

    /// <summary>Every output a downstream stage may read: the routes in order, then <c>_unmatched</c>.</summary>
    public IEnumerable<string> OutputNames => Routes.Select(r => r.Name).Append(UnmatchedOutput);
}

/// <summary>One named output of a route transform.</summary>
public readonly record struct RouteOutput(string Name, string Condition);

/// <summary><c>type = "sample"</c>: keeps 1 event in <see cref="Rate"/>.</summary>
/// <param name="Key">
/// When set, the decision hashes this field, so all events of one key are kept or dropped
/// together; when <c>null</c>, every <see cref="Rate"/>-th event is kept.
/// </param>
public sealed record SampleTransformConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs, int Rate, FieldRef? Key)
    : TransformConfig(Name, Position, Inputs)
{
    public override string TypeName => "sample";
}

/// <summary><c>type = "throttle"</c>: at most <see cref="Limit"/> events per second per key; the excess is counted and dropped.</summary>
/// <param name="Key"><c>null</c>: one budget for all events.</param>
/// <param name="MaxKeys">Bound on the keys tracked at once, so memory stays bounded whatever the key cardinality.</param>
public sealed record ThrottleTransformConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs, int Limit, FieldRef? Key, int MaxKeys)
    : TransformConfig(Name, Position, Inputs)
{
    public const int DefaultMaxKeys = 100_000;

    public override string TypeName => "throttle";
}

/// <summary><c>type = "dedupe"</c>: drops an event whose <see cref="Field"/> was seen within <see cref="Window"/>.</summary>
/// <param name="MaxKeys">Bound on the values remembered; the oldest are forgotten first.</param>
public sealed record DedupeTransformConfig(string Name, ConfigPosition Position, EquatableArray<string> Inputs, FieldRef Field, Duration Window, int MaxKeys)
    : TransformConfig(Name, Position, Inputs)
{
    public const int DefaultMaxKeys = 100_000;

    public override string TypeName => "dedupe";
}
