namespace EventDaemon.Stages.Metrics;

/// <summary>
/// What a stage is, decided once when its metrics are made: which of <see cref="StageCounters"/>
/// it writes, and so which families of the stats socket it appears in.
/// </summary>
public enum StageType
{
    /// <summary>A type this build does not count anything special for.</summary>
    Other,
    Filter,
    Route,
    Sample,
    Throttle,
    Dedupe,
    Enrich,
    Aggregate,
    Sink,
}

/// <summary>The config's type names (<c>type = "…"</c>) as <see cref="StageType"/>s.</summary>
public static class StageTypes
{
    /// <summary>A sink whatever its transport; a transform by its type name.</summary>
    public static StageType Of(string kind, string type) => kind == "sink"
        ? StageType.Sink
        : type switch
        {
            "filter" => StageType.Filter,
            "route" => StageType.Route,
            "sample" => StageType.Sample,
            "throttle" => StageType.Throttle,
            "dedupe" => StageType.Dedupe,
            "enrich" => StageType.Enrich,
            "aggregate" => StageType.Aggregate,
            _ => StageType.Other,
        };
}
