namespace EventDaemon.Daemon.Config;

/// <summary>
/// The pipeline as a DAG, ready to become the ring's consumer graph: every transform and sink in
/// an order where each comes after all it reads from, with its upstream components resolved.
/// </summary>
public sealed class Topology
{
    private readonly Dictionary<string, string[]> _downstream;

    internal Topology(IReadOnlyList<SourceConfig> sources, IReadOnlyList<TopologyStage> stages, IReadOnlySet<string> unconnected)
    {
        Sources = sources;
        Stages = stages;
        Unconnected = unconnected;
        _downstream = stages
            .SelectMany(stage => stage.Upstream.Select(input => (input.Component, stage.Name)))
            .GroupBy(edge => edge.Component, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Select(edge => edge.Name).Distinct().ToArray(), StringComparer.Ordinal);
    }

    /// <summary>In declaration order.</summary>
    public IReadOnlyList<SourceConfig> Sources { get; }

    /// <summary>
    /// Transforms in dependency order (ties broken by declaration order), then sinks in declaration
    /// order. A stage's upstream components always come before it.
    /// </summary>
    public IReadOnlyList<TopologyStage> Stages { get; }

    /// <summary>Sources and transforms whose events reach no sink (validation warns about each).</summary>
    public IReadOnlySet<string> Unconnected { get; }

    /// <summary>The stages that read from <paramref name="component"/>, in <see cref="Stages"/> order.</summary>
    public IReadOnlyList<string> DownstreamOf(string component) =>
        _downstream.TryGetValue(component, out string[]? names) ? names : [];
}

/// <summary>A transform or sink with the components it reads from.</summary>
public sealed record TopologyStage(StageConfig Config, EquatableArray<StageInput> Upstream)
{
    public string Name => Config.Name;

    public ComponentKind Kind => Config.Kind;
}

/// <summary>One resolved entry of a stage's <c>inputs</c>.</summary>
/// <param name="Kind">Source or transform (a sink is never an input).</param>
/// <param name="Output">For a route transform, the output read (<c>high</c>, <c>_unmatched</c>); otherwise <c>null</c>.</param>
public readonly record struct StageInput(string Component, ComponentKind Kind, string? Output)
{
    public override string ToString() => Output is null ? Component : $"{Component}.{Output}";
}
