using EventDaemon.LoadGen.Generation;

namespace EventDaemon.LoadGen.Bench;

/// <summary>What <c>eventd-loadgen e2e</c> runs, and for how long.</summary>
internal sealed class E2eOptions
{
    public required string Eventd { get; init; }

    public required string Baseline { get; init; }

    public required string Floor { get; init; }

    public required string OutputDirectory { get; init; }

    /// <summary>Throughput rows (<see cref="Workloads.All"/>) and sections (latency, steady) to run.</summary>
    public required IReadOnlyList<string> Workloads { get; init; }

    /// <summary>Written as the aggregate's <c>threads</c> when set; not written by default.</summary>
    public int? AggregateThreads { get; init; }

    public bool Quick { get; init; }

    /// <summary>The per-key-journal row writes into recycled segments (<see cref="Workload.JournalRecycling"/>).</summary>
    public bool JournalRecycling { get; init; }

    /// <summary>Turns each system takes on each throughput row; each keeps its best.</summary>
    public int Rounds { get; init; } = 1;

    /// <summary>TCP connections of the throughput rows and the steady state, each on its own sender thread.</summary>
    public int Connections { get; init; } = 2;

    /// <summary>The latency section's events: the clickstream it has always used (160 B, four types, 100 000 keys).</summary>
    public EventShape LatencyShape { get; init; } = new() { Types = EventShape.ParseWeights(EventShape.DefaultTypes) };

    public int LatencyConnections { get; init; } = 1;

    public int PoolSize { get; init; } = 65_536;

    public TimeSpan ThroughputMeasure => TimeSpan.FromSeconds(Quick ? 2 : 5);

    public TimeSpan LatencyWarmup => TimeSpan.FromSeconds(1);

    public TimeSpan LatencyMeasure => TimeSpan.FromSeconds(Quick ? 2 : 3);

    /// <summary>How long acks are timed at their fixed rate, after <see cref="LatencyWarmup"/>.</summary>
    public TimeSpan AckMeasure => TimeSpan.FromSeconds(Quick ? 2 : 5);

    /// <summary>
    /// The acks section's pacings, in µs, each its own row, taking turns in every round: 0 is frame
    /// by frame (the sender wakes for each frame, today's <c>send --acks</c>), N a write every N µs
    /// with the wait between on the socket (<see cref="Sending.SendPlan.AckPaceNs"/>).
    /// </summary>
    public IReadOnlyList<long> AckPacesMicros { get; init; } = [0, 100];

    /// <summary>Interleaved rounds per system at each fixed target rate, merged into one histogram.</summary>
    public int LatencyRounds => Quick ? 1 : 3;

    /// <summary>
    /// The shortest steady state on which the allocation budget is enforced: the daemon's counter
    /// moves in steps of a thread's allocation context (8 KB) and each read of it allocates tens of
    /// KB, so only over a long run does 0.01 B/event separate a leak from the observer.
    /// </summary>
    public static readonly TimeSpan SteadyStateMinimum = TimeSpan.FromSeconds(60);

    public TimeSpan SteadyState { get; init; } = SteadyStateMinimum;

    /// <summary>Latency rates as fractions of eventd's measured JSON maximum.</summary>
    public double[] Fractions => Quick ? [0.5] : [0.1, 0.5, 0.8];

    /// <summary>Latency rates in events/s, fixed so runs on different days compare.</summary>
    public double[] AbsoluteRates { get; init; } = [50_000, 100_000];

    /// <summary>Fraction of the maximum the steady-state run holds.</summary>
    public double SteadyFraction { get; init; } = 0.5;
}
