namespace EventDaemon.Daemon.Config;

/// <summary>One statistic of an aggregate (<c>metrics</c>); the config spells them in lower case.</summary>
public enum AggregateMetric
{
    Count,
    Sum,
    Min,
    Max,
    Mean,
    P50,
    P90,
    P99,
    P999,
}
