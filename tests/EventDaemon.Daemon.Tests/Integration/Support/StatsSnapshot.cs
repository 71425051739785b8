using System.Text;
using System.Text.Json;

namespace EventDaemon.Daemon.Tests.Integration.Support;

/// <summary>
/// One reply of <c>stats json</c> (Control/STATS.md): an unlabelled metric maps to its number, a
/// labelled one to an array of objects with its labels and <c>"value"</c>.
/// </summary>
internal sealed class StatsSnapshot
{
    private readonly Dictionary<string, JsonElement> _metrics;

    public StatsSnapshot(string json)
    {
        Json = json;
        using JsonDocument document = JsonDocument.Parse(json);
        _metrics = [];
        foreach (JsonProperty property in document.RootElement.EnumerateObject())
        {
            _metrics[property.Name] = property.Value.Clone();
        }
    }

    public string Json { get; }

    /// <summary>An unlabelled metric.</summary>
    public double Value(string name)
    {
        JsonElement element = Element(name);
        if (element.ValueKind != JsonValueKind.Number)
        {
            throw new Xunit.Sdk.XunitException($"{name} is not an unlabelled number in stats json: {element}");
        }

        return element.GetDouble();
    }

    /// <summary>
    /// The series of a labelled metric whose labels include every one given; 0 when there is no
    /// such series (labels that depend on traffic appear with their first sample).
    /// </summary>
    public double Value(string name, params (string Label, string Value)[] labels) => Series(name, labels) ?? 0;

    /// <summary>The series' value, or null when it does not exist.</summary>
    public double? Series(string name, params (string Label, string Value)[] labels)
    {
        JsonElement element = Element(name);
        if (element.ValueKind != JsonValueKind.Array)
        {
            throw new Xunit.Sdk.XunitException($"{name} is not a labelled metric in stats json: {element}");
        }

        foreach (JsonElement series in element.EnumerateArray())
        {
            bool all = true;
            foreach ((string label, string value) in labels)
            {
                all &= series.TryGetProperty(label, out JsonElement v) && v.GetString() == value;
            }

            if (all)
            {
                return series.GetProperty("value").GetDouble();
            }
        }

        return null;
    }

    /// <summary>Every series of a labelled metric as "labels = value" lines, for messages.</summary>
    public string Describe(string name)
    {
        if (!_metrics.TryGetValue(name, out JsonElement element))
        {
            return $"{name}: absent";
        }

        if (element.ValueKind != JsonValueKind.Array)
        {
            return $"{name} = {element}";
        }

        var text = new StringBuilder(name).Append(':');
        foreach (JsonElement series in element.EnumerateArray())
        {
            text.Append(' ').Append(series.ToString());
        }

        return text.ToString();
    }

    private JsonElement Element(string name) =>
        _metrics.TryGetValue(name, out JsonElement element)
            ? element
            : throw new Xunit.Sdk.XunitException($"stats json has no {name}");
}
