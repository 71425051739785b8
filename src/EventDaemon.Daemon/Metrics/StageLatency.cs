using EventDaemon.Stages.Metrics;

namespace EventDaemon.Daemon.Metrics;

/// <summary>A transform's or sink's latency histogram, for the <c>eventd_stage_latency_seconds</c> family of <c>metrics</c>.</summary>
/// <param name="Stage">The stage's name, its <c>stage</c> label.</param>
/// <param name="Histogram">Read only: the stage's thread is its one writer.</param>
public readonly record struct StageLatency(string Stage, LatencyHistogram Histogram);
