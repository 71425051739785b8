namespace EventDaemon.Daemon.Config;

/// <summary>
/// What every source, transform and sink has: a name unique across all three kinds, and the place
/// the file declares it (for messages about it after load, such as an enrich table that fails to
/// reload or a port already in use).
/// </summary>
/// <remarks>
/// Equality ignores <see cref="Position"/>: a component means the same thing wherever it is
/// written, so adding a comment above it does not make a reload see a change.
/// </remarks>
public abstract record ComponentConfig
{
    protected ComponentConfig(string name, ConfigPosition position)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        Position = position;
    }

    public string Name { get; }

    /// <summary>Where the component's table is declared: the <c>[</c> of its header, or its key.</summary>
    public ConfigPosition Position { get; }

    public abstract ComponentKind Kind { get; }

    /// <summary>The <c>type</c> as the config spells it (<c>tcp</c>, <c>filter</c>, <c>stdout</c>...).</summary>
    public abstract string TypeName { get; }

    public virtual bool Equals(ComponentConfig? other) =>
        other is not null && EqualityContract == other.EqualityContract && Name == other.Name;

    public override int GetHashCode() => HashCode.Combine(EqualityContract, Name);
}

/// <summary>A transform or sink: a component that reads the ring after its <see cref="Inputs"/> have.</summary>
public abstract record StageConfig : ComponentConfig
{
    protected StageConfig(string name, ConfigPosition position, EquatableArray<string> inputs)
        : base(name, position) => Inputs = inputs;

    /// <summary>
    /// Upstream components as written: a source or transform name, or <c>route.output</c> for one
    /// output of a route transform (<c>route._unmatched</c> for events no route matched).
    /// </summary>
    public EquatableArray<string> Inputs { get; }
}
