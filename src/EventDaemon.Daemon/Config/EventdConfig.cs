namespace EventDaemon.Daemon.Config;

/// <summary>
/// A validated config: daemon settings, the named components, and the pipeline they form. Only
/// <see cref="ConfigLoader"/> makes one, and only from a config without errors.
/// </summary>
/// <remarks>
/// Equality compares what the config says (settings and components), not where it was read from
/// or where in the file each thing was written, so a reload can ask "did anything change?".
/// </remarks>
public sealed class EventdConfig : IEquatable<EventdConfig>
{
    internal EventdConfig(
        string sourceName,
        DaemonSettings daemon,
        ComponentMap<SourceConfig> sources,
        ComponentMap<TransformConfig> transforms,
        ComponentMap<SinkConfig> sinks,
        Topology topology)
    {
        SourceName = sourceName;
        Daemon = daemon;
        Sources = sources;
        Transforms = transforms;
        Sinks = sinks;
        Topology = topology;
    }

    /// <summary>The path the config was read from, as given, or <see cref="EmbeddedConfig.SourceName"/>.</summary>
    public string SourceName { get; }

    public DaemonSettings Daemon { get; }

    public ComponentMap<SourceConfig> Sources { get; }

    public ComponentMap<TransformConfig> Transforms { get; }

    public ComponentMap<SinkConfig> Sinks { get; }

    public Topology Topology { get; }

    /// <summary>The <c>[journal]</c> table; null when the config has none (no journal).</summary>
    public JournalSettings? Journal { get; private init; }

    /// <summary>This config with <paramref name="journal"/> as its <c>[journal]</c> table.</summary>
    internal EventdConfig WithJournal(JournalSettings? journal) =>
        new(SourceName, Daemon, Sources, Transforms, Sinks, Topology) { Journal = journal };

    /// <summary>Finds a component of any kind by name.</summary>
    public ComponentConfig? Find(string name) =>
        Sources.TryGetValue(name, out SourceConfig? source) ? source
        : Transforms.TryGetValue(name, out TransformConfig? transform) ? transform
        : Sinks.TryGetValue(name, out SinkConfig? sink) ? sink
        : null;

    public bool Equals(EventdConfig? other) =>
        other is not null
        && Daemon.Equals(other.Daemon)
        && Equals(Journal, other.Journal)
        && Sources.Equals(other.Sources)
        && Transforms.Equals(other.Transforms)
        && Sinks.Equals(other.Sinks);

    public override bool Equals(object? obj) => Equals(obj as EventdConfig);

    public override int GetHashCode() => HashCode.Combine(Daemon, Journal, Sources, Transforms, Sinks);

    /// <summary>The effective config as TOML (<see cref="ConfigRenderer"/>).</summary>
    public override string ToString() => ConfigRenderer.Render(this);
}
