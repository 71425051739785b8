using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.LoadGen.Measurement;

namespace EventDaemon.LoadGen.Bench;

/// <summary>
/// One reply of <c>stats json</c> (src/EventDaemon.Daemon/Control/STATS.md), flattened to
/// <c>name</c> or <c>name{label=value,...}</c> keys, with the monotonic time it was taken.
/// </summary>
internal sealed class DaemonStats
{
    private readonly Dictionary<string, double> _values;

    private DaemonStats(long timeNs, Dictionary<string, double> values)
    {
        TimeNs = timeNs;
        _values = values;
    }

    public long TimeNs { get; }

    public long GcCollections => (long)(Get("gc_collections_total{generation=0}") + Get("gc_collections_total{generation=1}") + Get("gc_collections_total{generation=2}"));

    public long AllocatedBytes => (long)Get("managed_allocated_bytes_total");

    public long ResidentBytes => (long)Get("process_resident_memory_bytes");

    public long LockedBytes => (long)Get("locked_memory_bytes");

    public long Received(string source) => (long)Get($"events_received_total{{source={source}}}");

    public long BytesReceived(string source) => (long)Get($"bytes_received_total{{source={source}}}");

    public long Processed(string stage) => (long)Get($"events_processed_total{{stage={stage}}}");

    public long Written(string sink) => (long)Get($"sink_events_written_total{{sink={sink}}}");

    public double Get(string key) => _values.TryGetValue(key, out double v) ? v : 0;

    /// <summary>The sum of every series whose key starts with <paramref name="prefix"/> (a family, or some of its labels).</summary>
    public long Sum(string prefix) => (long)_values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(kv => kv.Value);

    /// <summary>The non-zero series under the given prefixes, as <c>key=value</c>: what to say when a count should be 0.</summary>
    public string Matching(params string[] prefixes) => string.Join(", ", _values
        .Where(kv => kv.Value != 0 && prefixes.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal)))
        .Select(kv => kv.Key + "=" + kv.Value.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Asks the daemon at <paramref name="socketPath"/>; null when it does not answer (yet).</summary>
    public static DaemonStats? TryRead(string socketPath)
    {
        try
        {
            return Read(socketPath);
        }
        catch (Exception e) when (e is SocketException or IOException or JsonException)
        {
            return null;
        }
    }

    public static DaemonStats Read(string socketPath)
    {
        long before = Clock.NowNs();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        socket.Send("stats json\n"u8);
        using var reply = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            reply.Write(buffer, 0, n);
        }

        long after = Clock.NowNs();
        if (reply.Length > 6 && Encoding.ASCII.GetString(reply.GetBuffer(), 0, 6) == "error:")
        {
            throw new IOException(Encoding.UTF8.GetString(reply.GetBuffer(), 0, (int)reply.Length));
        }

        using JsonDocument doc = JsonDocument.Parse(reply.GetBuffer().AsMemory(0, (int)reply.Length));
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Number)
            {
                values[p.Name] = p.Value.GetDouble();
            }
            else if (p.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement series in p.Value.EnumerateArray())
                {
                    var key = new StringBuilder(p.Name).Append('{');
                    double value = 0;
                    bool first = true;
                    foreach (JsonProperty label in series.EnumerateObject())
                    {
                        if (label.Name == "value")
                        {
                            value = label.Value.ValueKind == JsonValueKind.Number ? label.Value.GetDouble() : double.NaN;
                            continue;
                        }

                        key.Append(first ? "" : ",").Append(label.Name).Append('=').Append(label.Value.GetString());
                        first = false;
                    }

                    values[key.Append('}').ToString()] = value;
                }
            }
        }

        return new DaemonStats((before + after) / 2, values);
    }

    public override string ToString() => string.Join(", ", _values.Select(kv => kv.Key + "=" + kv.Value.ToString(CultureInfo.InvariantCulture)));
}
