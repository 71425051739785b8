using System.Text.Json.Serialization;

namespace EventDaemon.Baseline;

/// <summary>One event as the baseline deserializes it; the original line travels along for the passthrough sink.</summary>
internal sealed class Event
{
    [JsonPropertyName("ts")]
    public long? Ts { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("value")]
    public double? Value { get; set; }

    [JsonPropertyName("region")]
    public string? Region { get; set; }

    [JsonIgnore]
    public string Line { get; set; } = "";
}

/// <summary>One group of one closed window (<see cref="Key"/> is null when grouped by type alone).</summary>
internal sealed record WindowResult(DateTime WindowStart, string Type, string? Key, long Count, double Sum, double Max, double P99);

/// <summary>Source-generated metadata, as the .NET docs recommend for JsonSerializer on a hot path.</summary>
[JsonSerializable(typeof(Event))]
internal sealed partial class BaselineJsonContext : JsonSerializerContext;
