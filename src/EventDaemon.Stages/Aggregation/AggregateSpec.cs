using System.Text;
using EventDaemon.Events.Fields;

namespace EventDaemon.Stages.Aggregation;

/// <summary>What an aggregate computes: built once from the config, read by its stage.</summary>
public sealed class AggregateSpec
{
    /// <summary>Bytes of one group's key (its group-by values together); longer keys are dropped and counted.</summary>
    public const int MaxKeyBytes = GroupKey.MaxBytes;

    /// <summary>Windows that may be open at once (event time: about allowed_lateness / window + 2).</summary>
    public const int MaxOpenWindows = 64;

    public required long WindowNanos { get; init; }

    public required GroupField[] GroupBy { get; init; }

    public required AggregateMetrics Metrics { get; init; }

    public required bool EventTime { get; init; }

    public long LatenessNanos { get; init; }

    public required int MaxGroups { get; init; }

    public bool NeedsSketch => (Metrics & AggregateMetrics.Percentiles) != 0;

    /// <summary>The group key's parts, as the ring's catalog and <see cref="GroupKey"/> know them.</summary>
    public KeyPart[] KeyParts() => Array.ConvertAll(GroupBy, f => f.Kind switch
    {
        GroupFieldKind.Type => KeyPart.Type,
        GroupFieldKind.Key => KeyPart.Key,
        _ => KeyPart.Named(f.Name),
    });
}

/// <summary>One group-by field: <c>type</c>, <c>key</c> or a top-level <c>.field</c>.</summary>
public sealed class GroupField
{
    public GroupField(GroupFieldKind kind, string name)
    {
        Kind = kind;
        Name = name;
        NameUtf8 = Encoding.UTF8.GetBytes(name);
        // The output line's `"name":` prefix, escaped once here.
        OutputPrefix = Encoding.UTF8.GetBytes(",\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\":");
    }

    public GroupFieldKind Kind { get; }

    public string Name { get; }

    public byte[] NameUtf8 { get; }

    public byte[] OutputPrefix { get; }
}

public enum GroupFieldKind
{
    Type,
    Key,
    Field,
}

/// <summary>The metrics an aggregate emits, in output order.</summary>
[Flags]
public enum AggregateMetrics
{
    None = 0,
    Count = 1 << 0,
    Sum = 1 << 1,
    Min = 1 << 2,
    Max = 1 << 3,
    Mean = 1 << 4,
    P50 = 1 << 5,
    P90 = 1 << 6,
    P99 = 1 << 7,
    P999 = 1 << 8,
    Percentiles = P50 | P90 | P99 | P999,
}
