using System.Text.Json;
using EventDaemon.Events;
using EventDaemon.Stages.Aggregation;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>Checks one output line against what the reference expects, field by field and in SPEC §3's order.</summary>
internal static class LineCheck
{
    /// <summary>Relative error bound of the percentiles (SPEC §3), plus room for floating-point rounding.</summary>
    public const double QuantileTolerance = QuantileSketch.RelativeError * (1 + 1e-9);

    private static readonly (AggregateMetrics Metric, string Name, double Q)[] MetricOrder =
    [
        (AggregateMetrics.Count, "count", 0),
        (AggregateMetrics.Sum, "sum", 0),
        (AggregateMetrics.Min, "min", 0),
        (AggregateMetrics.Max, "max", 0),
        (AggregateMetrics.Mean, "mean", 0),
        (AggregateMetrics.P50, "p50", 0.5),
        (AggregateMetrics.P90, "p90", 0.9),
        (AggregateMetrics.P99, "p99", 0.99),
        (AggregateMetrics.P999, "p999", 0.999),
    ];

    /// <summary>The keys a line must have, in order.</summary>
    public static List<string> ExpectedKeys(AggregateSpec spec)
    {
        var keys = new List<string> { "window_start", "window_end" };
        keys.AddRange(spec.GroupBy.Select(f => f.Name));
        keys.AddRange(MetricOrder.Where(m => (spec.Metrics & m.Metric) != 0).Select(m => m.Name));
        return keys;
    }

    public static GroupValue ReadGroupValue(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null => GroupValue.Null,
        JsonValueKind.String => GroupValue.Str(e.GetString()!),
        _ => GroupValue.Raw(e.GetRawText()),
    };

    public static void Equal(AggregateSpec spec, ExpectedLine expected, OutputLine actual, string context)
    {
        using JsonDocument doc = ParseObject(actual.Json, context);
        JsonElement root = doc.RootElement;
        List<string> keys = root.EnumerateObject().Select(p => p.Name).ToList();
        List<string> wanted = ExpectedKeys(spec);
        Assert.True(keys.SequenceEqual(wanted), $"{context}: keys should be [{string.Join(",", wanted)}] in that order but were [{string.Join(",", keys)}]: {actual.Json}");

        Assert.True(actual.Step == expected.Step, $"{context}: line should be published at step {expected.Step} but was at step {actual.Step}: {actual.Json}");
        long start = root.GetProperty("window_start").GetInt64();
        Assert.True(start == expected.WindowStart, $"{context}: window_start should be {expected.WindowStart} but was {start}: {actual.Json}");
        long end = root.GetProperty("window_end").GetInt64();
        Assert.True(end == expected.WindowStart + spec.WindowNanos, $"{context}: window_end should be window_start + window: {actual.Json}");
        Assert.True(actual.Slot.Timestamp == expected.WindowStart, $"{context}: the result event's ts should be its window start: {actual.Json}");
        Assert.True((actual.Slot.Flags & EventFlags.Generated) != 0, $"{context}: a result event should carry the Generated flag: {actual.Json}");

        for (int i = 0; i < spec.GroupBy.Length; i++)
        {
            GroupValue value = ReadGroupValue(root.GetProperty(spec.GroupBy[i].Name));
            Assert.True(value == expected.Group[i], $"{context}: group field '{spec.GroupBy[i].Name}' should be {expected.Group[i]} but was {value}: {actual.Json}");
        }

        bool valued = expected.Values.Count > 0;
        foreach ((AggregateMetrics metric, string name, double q) in MetricOrder)
        {
            if ((spec.Metrics & metric) == 0)
            {
                continue;
            }

            JsonElement e = root.GetProperty(name);
            if (metric == AggregateMetrics.Count)
            {
                Assert.True(e.GetInt64() == expected.Count, $"{context}: count should be {expected.Count} but was {e.GetRawText()}: {actual.Json}");
                continue;
            }

            if (metric == AggregateMetrics.Sum)
            {
                double sum = valued ? expected.Sum : 0;
                Assert.True(e.ValueKind == JsonValueKind.Number && e.GetDouble() == sum, $"{context}: sum should be {sum:R} (summed in arrival order) but was {e.GetRawText()}: {actual.Json}");
                continue;
            }

            if (!valued)
            {
                Assert.True(e.ValueKind == JsonValueKind.Null, $"{context}: {name} should be null when no event of the group had a value, but was {e.GetRawText()}: {actual.Json}");
                continue;
            }

            Assert.True(e.ValueKind == JsonValueKind.Number, $"{context}: {name} should be a number but was {e.GetRawText()}: {actual.Json}");
            double got = e.GetDouble();
            switch (metric)
            {
                case AggregateMetrics.Min:
                    Assert.True(got == expected.Values.Min(), $"{context}: min should be {expected.Values.Min():R} but was {got:R}: {actual.Json}");
                    break;
                case AggregateMetrics.Max:
                    Assert.True(got == expected.Values.Max(), $"{context}: max should be {expected.Values.Max():R} but was {got:R}: {actual.Json}");
                    break;
                case AggregateMetrics.Mean:
                    double mean = expected.Sum / expected.Values.Count;
                    Assert.True(got == mean, $"{context}: mean should be {mean:R} but was {got:R}: {actual.Json}");
                    break;
                default:
                    double exact = ReferenceAggregate.ExactQuantile(expected.Values, q);
                    double error = Math.Abs(got - exact) / Math.Abs(exact);
                    Assert.True(error <= QuantileTolerance, $"{context}: {name} should be within 1% of the exact {exact:R} (rank ⌈{q}·{expected.Values.Count}⌉) but was {got:R} ({error:P3} off): {actual.Json}");
                    break;
            }
        }
    }

    public static JsonDocument ParseObject(string json, string context)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            Assert.Fail($"{context}: output line is not valid JSON ({e.Message}): {json}");
            throw;
        }

        Assert.True(doc.RootElement.ValueKind == JsonValueKind.Object, $"{context}: output line should be one JSON object: {json}");
        return doc;
    }
}
