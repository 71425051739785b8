using System.Globalization;

namespace EventDaemon.LoadGen.Generation;

/// <summary>
/// What the generated events look like: event types with their shares, how many distinct keys,
/// and the mean size of an event on the wire.
/// </summary>
internal sealed class EventShape
{
    /// <summary>A clickstream: mostly views, some clicks, fewer purchases and sign-ups.</summary>
    public const string DefaultTypes = "view:40,click:30,purchase:20,signup:10";

    public required (string Name, int Weight)[] Types { get; init; }

    /// <summary>Distinct <c>key</c> values the events are drawn from (uniformly).</summary>
    public int KeyCardinality { get; init; } = 100_000;

    /// <summary>Mean bytes per event on the wire; the padding field varies ±50 % around what this needs.</summary>
    public int MeanSize { get; init; } = 160;

    public int Seed { get; init; } = 42;

    /// <summary>Parses <c>name:weight,name:weight</c>.</summary>
    public static (string Name, int Weight)[] ParseTypes(string text)
    {
        var types = new List<(string, int)>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = part.IndexOf(':', StringComparison.Ordinal);
            string name = colon < 0 ? part : part[..colon];
            int weight = colon < 0 ? 1 : int.Parse(part[(colon + 1)..], CultureInfo.InvariantCulture);
            if (name.Length == 0 || weight <= 0)
            {
                throw new FormatException($"'{part}' is not name:weight with a positive weight");
            }

            types.Add((name, weight));
        }

        if (types.Count == 0)
        {
            throw new FormatException("at least one event type is needed");
        }

        return [.. types];
    }

    public override string ToString() =>
        $"types {string.Join(',', Types.Select(t => $"{t.Name}:{t.Weight}"))}, {KeyCardinality:N0} keys, ~{MeanSize} B/event";
}
