using System.Text.Json;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// One reading of the daemon for <c>eventd top</c>: a <c>stats json</c> reply (Control/STATS.md)
/// and a <c>health</c> reply, taken together. Rates come from two readings
/// (<see cref="TopView.Render"/>), measured on the daemon's own <c>uptime_seconds</c> so a slow
/// client or a late refresh does not skew them.
/// </summary>
/// <remarks>Cold path: one parse per refresh on the client, allocating freely.</remarks>
public sealed class TopSnapshot
{
    private readonly Dictionary<string, List<Series>> _labelled = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _plain = new(StringComparer.Ordinal);

    private TopSnapshot(string[] problems) => Problems = problems;

    /// <summary>The daemon's <c>uptime_seconds</c>: the clock rates are measured on.</summary>
    public double Uptime => Plain("uptime_seconds");

    /// <summary>The lines of <c>health</c>; empty when it answered <c>ok</c>.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Sources in the order the daemon lists them.</summary>
    public IReadOnlyList<string> Sources => Names("events_received_total", "source");

    /// <summary>Sinks in the order the daemon lists them.</summary>
    public IReadOnlyList<string> Sinks => Names("sink_events_written_total", "sink");

    /// <summary>Transforms: every stage that is not a sink, in the daemon's order.</summary>
    public IReadOnlyList<string> Transforms
    {
        get
        {
            IReadOnlyList<string> sinks = Sinks;
            return [.. Names("events_processed_total", "stage").Where(s => !sinks.Contains(s))];
        }
    }

    /// <summary>Parses a <c>stats json</c> reply and a <c>health</c> reply.</summary>
    /// <exception cref="FormatException">The stats reply is not the object STATS.md describes.</exception>
    public static TopSnapshot Parse(string statsJson, string health)
    {
        ArgumentNullException.ThrowIfNull(statsJson);
        ArgumentNullException.ThrowIfNull(health);
        string[] problems = health.Trim() == "ok"
            ? []
            : health.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var snapshot = new TopSnapshot(problems);
        try
        {
            using JsonDocument document = JsonDocument.Parse(statsJson);
            foreach (JsonProperty family in document.RootElement.EnumerateObject())
            {
                if (family.Value.ValueKind == JsonValueKind.Number)
                {
                    snapshot._plain[family.Name] = family.Value.GetDouble();
                    continue;
                }

                if (family.Value.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                var series = new List<Series>();
                foreach (JsonElement sample in family.Value.EnumerateArray())
                {
                    var labels = new List<KeyValuePair<string, string>>(2);
                    double value = double.NaN;
                    foreach (JsonProperty member in sample.EnumerateObject())
                    {
                        if (member.Name == "value")
                        {
                            value = member.Value.ValueKind == JsonValueKind.Number ? member.Value.GetDouble() : double.NaN;
                        }
                        else
                        {
                            labels.Add(new(member.Name, member.Value.GetString() ?? ""));
                        }
                    }

                    series.Add(new Series([.. labels], value));
                }

                snapshot._labelled[family.Name] = series;
            }
        }
        catch (JsonException e)
        {
            throw new FormatException($"the daemon's 'stats json' reply is not JSON ({e.Message})", e);
        }

        return snapshot;
    }

    /// <summary>An unlabelled metric; 0 when the daemon does not report it.</summary>
    public double Plain(string name) => _plain.TryGetValue(name, out double value) ? value : 0;

    /// <summary>The sum of <paramref name="family"/>'s series whose <paramref name="label"/> is <paramref name="value"/> (over every other label); 0 when there is none.</summary>
    public double Sum(string family, string label, string value)
    {
        double sum = 0;
        if (_labelled.TryGetValue(family, out List<Series>? series))
        {
            foreach (Series s in series)
            {
                if (s.Has(label, value) && !double.IsNaN(s.Value))
                {
                    sum += s.Value;
                }
            }
        }

        return sum;
    }

    /// <summary>The one series of <paramref name="family"/> with both labels; null when there is none.</summary>
    public double? Find(string family, string label, string value, string label2, string value2)
    {
        if (_labelled.TryGetValue(family, out List<Series>? series))
        {
            foreach (Series s in series)
            {
                if (s.Has(label, value) && s.Has(label2, value2))
                {
                    return s.Value;
                }
            }
        }

        return null;
    }

    private List<string> Names(string family, string label)
    {
        var names = new List<string>();
        if (_labelled.TryGetValue(family, out List<Series>? series))
        {
            foreach (Series s in series)
            {
                foreach (KeyValuePair<string, string> pair in s.Labels)
                {
                    if (pair.Key == label && !names.Contains(pair.Value))
                    {
                        names.Add(pair.Value);
                    }
                }
            }
        }

        return names;
    }

    private sealed record Series(KeyValuePair<string, string>[] Labels, double Value)
    {
        public bool Has(string label, string value)
        {
            foreach (KeyValuePair<string, string> pair in Labels)
            {
                if (pair.Key == label && pair.Value == value)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
