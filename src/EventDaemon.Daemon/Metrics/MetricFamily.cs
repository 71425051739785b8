namespace EventDaemon.Daemon.Metrics;

/// <summary>One metric name with its samples, as the stats socket prints it.</summary>
public sealed class MetricFamily
{
    public MetricFamily(string name, string type, string help)
    {
        Name = name;
        Type = type;
        Help = help;
    }

    public string Name { get; }

    /// <summary>Prometheus type: "counter" or "gauge".</summary>
    public string Type { get; }

    public string Help { get; }

    public List<MetricSample> Samples { get; } = [];

    public MetricFamily Add(double value, params (string Name, string Value)[] labels)
    {
        Samples.Add(new MetricSample(labels, value));
        return this;
    }
}

/// <summary>One sample: label pairs in print order, and its value.</summary>
public readonly record struct MetricSample((string Name, string Value)[] Labels, double Value);
