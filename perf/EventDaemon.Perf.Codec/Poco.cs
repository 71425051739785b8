using System.Text.Json.Serialization;

namespace EventDaemon.Perf.Codec;

/// <summary>The baseline's event type: what a typical garbage-collected pipeline deserializes each line into.</summary>
internal sealed class EventPoco
{
    [JsonPropertyName("ts")]
    public long? Ts { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("value")]
    public double? Value { get; set; }
}

/// <summary>Source-generated serializer metadata: no reflection, so the baseline runs under Native AOT too.</summary>
[JsonSerializable(typeof(EventPoco))]
internal sealed partial class PocoContext : JsonSerializerContext;
