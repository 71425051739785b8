using System.Globalization;

namespace EventDaemon.LoadGen.Generation;

/// <summary>
/// What the generated events look like: event types and regions with their shares, how many
/// distinct keys, how <c>value</c> is spread, and the mean size of an event on the wire.
/// </summary>
internal sealed class EventShape
{
    /// <summary>A clickstream: mostly views, some clicks, fewer purchases and sign-ups.</summary>
    public const string DefaultTypes = "view:40,click:30,purchase:20,signup:10";

    /// <summary>Cloud regions, evenly; none of them is a bare <c>ap</c>.</summary>
    public const string DefaultRegions = "eu-west-1,eu-central-1,us-east-1,us-west-2,ap-south-1";

    public required (string Name, int Weight)[] Types { get; init; }

    /// <summary>The <c>region</c> field's values and their shares.</summary>
    public (string Name, int Weight)[] Regions { get; init; } = ParseWeights(DefaultRegions);

    /// <summary>Distinct <c>key</c> values the events are drawn from (uniformly).</summary>
    public int KeyCardinality { get; init; } = 100_000;

    /// <summary>
    /// When set, every event of the pool is its own (type, key) group: the keys are
    /// <c>ceil(pool / types)</c> values, each paired once with every type, dealt in a shuffled
    /// order, so a run that goes once round the pool touches as many groups as it sends events.
    /// <see cref="KeyCardinality"/> is then ignored and the types are equally likely.
    /// </summary>
    public bool DistinctGroups { get; init; }

    /// <summary><c>value</c> is uniform in [<see cref="ValueMin"/>, <see cref="ValueMax"/>), two decimals.</summary>
    public double ValueMin { get; init; } = 0.01;

    public double ValueMax { get; init; } = 500;

    /// <summary>Mean bytes per event on the wire; the padding field varies ±50 % around what this needs.</summary>
    public int MeanSize { get; init; } = 160;

    public int Seed { get; init; } = 42;

    /// <summary>Share of events whose <c>value</c> is below <paramref name="threshold"/>.</summary>
    public double ShareBelow(double threshold) => Math.Clamp((threshold - ValueMin) / (ValueMax - ValueMin), 0, 1);

    /// <summary>Share of events whose region is <paramref name="region"/>.</summary>
    public double ShareOfRegion(string region) =>
        (double)Regions.Where(r => r.Name == region).Sum(r => r.Weight) / Regions.Sum(r => r.Weight);

    /// <summary>Share of events whose type is one of <paramref name="types"/>.</summary>
    public double ShareOfTypes(params string[] types) => DistinctGroups
        ? (double)Types.Count(t => types.Contains(t.Name)) / Types.Length
        : (double)Types.Where(t => types.Contains(t.Name)).Sum(t => t.Weight) / Types.Sum(t => t.Weight);

    /// <summary>Parses <c>name:weight,name:weight</c> (a missing weight is 1).</summary>
    public static (string Name, int Weight)[] ParseTypes(string text) => ParseWeights(text);

    /// <summary>Parses <c>name:weight,name:weight</c> (a missing weight is 1).</summary>
    public static (string Name, int Weight)[] ParseWeights(string text)
    {
        var items = new List<(string, int)>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = part.IndexOf(':', StringComparison.Ordinal);
            string name = colon < 0 ? part : part[..colon];
            int weight = colon < 0 ? 1 : int.Parse(part[(colon + 1)..], CultureInfo.InvariantCulture);
            if (name.Length == 0 || weight <= 0)
            {
                throw new FormatException($"'{part}' is not name:weight with a positive weight");
            }

            items.Add((name, weight));
        }

        if (items.Count == 0)
        {
            throw new FormatException("at least one name is needed");
        }

        return [.. items];
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"types {Weights(Types)}, ") +
        (DistinctGroups ? "every event its own (type, key) group" : string.Create(CultureInfo.InvariantCulture, $"{KeyCardinality:N0} keys")) +
        string.Create(CultureInfo.InvariantCulture, $", value uniform {ValueMin:0.##}–{ValueMax:0.##}, regions {Weights(Regions)}, ~{MeanSize} B/event");

    private static string Weights((string Name, int Weight)[] items) =>
        items.All(i => i.Weight == 1) ? string.Join(',', items.Select(i => i.Name)) : string.Join(',', items.Select(i => $"{i.Name}:{i.Weight}"));
}
