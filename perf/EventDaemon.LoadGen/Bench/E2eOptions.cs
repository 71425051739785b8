using EventDaemon.LoadGen.Generation;

namespace EventDaemon.LoadGen.Bench;

/// <summary>What <c>eventd-loadgen e2e</c> runs, and for how long.</summary>
internal sealed class E2eOptions
{
    public required string Eventd { get; init; }

    public required string Baseline { get; init; }

    public required string Floor { get; init; }

    public required string OutputDirectory { get; init; }

    public required EventShape Shape { get; init; }

    public bool Quick { get; init; }

    public int Connections { get; init; } = 1;

    public int PoolSize { get; init; } = 65_536;

    public TimeSpan ThroughputWarmup => TimeSpan.FromSeconds(Quick ? 1 : 2);

    public TimeSpan ThroughputMeasure => TimeSpan.FromSeconds(Quick ? 2 : 5);

    public TimeSpan LatencyWarmup => TimeSpan.FromSeconds(1);

    public TimeSpan LatencyMeasure => TimeSpan.FromSeconds(Quick ? 2 : 4);

    /// <summary>The issue asks for at least 60 s; quick mode is for development only.</summary>
    public TimeSpan SteadyState { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Latency rates as fractions of eventd's measured JSON maximum.</summary>
    public double[] Fractions => Quick ? [0.5] : [0.1, 0.5, 0.8];

    /// <summary>Latency rates in events/s, fixed so runs on different days compare.</summary>
    public double[] AbsoluteRates { get; init; } = [50_000, 100_000];

    /// <summary>Fraction of the maximum the steady-state run holds.</summary>
    public double SteadyFraction { get; init; } = 0.5;
}
