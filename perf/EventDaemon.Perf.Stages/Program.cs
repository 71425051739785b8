using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventDaemon.Events;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Aggregation;
using EventDaemon.Stages.Expressions;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;

namespace EventDaemon.Perf.Stages;

/// <summary>
/// Per-stage cost of filter evaluation and aggregation over events already in the ring, against
/// what a .NET user would write over deserialized POCOs (a lambda with LINQ; a
/// Dictionary&lt;string, List&lt;double&gt;&gt; per window with LINQ at close), in the same run.
/// Four aggregate rows: 4 000 groups a window; the per-key case (5 000 keys × 3 types); 1 500
/// groups of ~130 values a window (their quantiles from the sketch); and 1 000 000 groups in one window. Each aggregate row also reports the native bytes its group
/// table touched per group (<see cref="AggregateHandler.GroupMemory"/>).
/// Prints a table and writes artifacts/bench/stages.json.
/// </summary>
public static class Program
{
    private const string Condition = "type == \"purchase\" && value > 10";

    /// <summary>The per-key pipeline's condition (issue 11's realistic case, and the e2e baseline's per-key check).</summary>
    private const string PerKeyCondition = "value >= 10 && .region != \"ap\"";

    public static int Main(string[] args)
    {
        int events = args.Length > 0 ? int.Parse(args[0]) : 1_000_000;
        int repeats = args.Length > 1 ? int.Parse(args[1]) : 3;
        string output = args.Length > 2 ? args[2] : "artifacts/bench/stages.json";

        // Optional: only the rows whose name starts with this (e.g. "filter"), for a short run.
        string only = args.Length > 3 ? args[3] : "";

        Console.WriteLine($"stage costs: {events:N0} events, best of {repeats}; condition: {Condition}; aggregate: 1 s event-time windows by type and key, count sum min max mean p99");
        Console.WriteLine($"filter per-key: {PerKeyCondition} over the end-to-end per-key events (~107 B, value uniform in [0, 100) with two decimals, region eu:45 us:40 ap:15), the ring's catalog as the daemon builds it (.region; the type,key group key); both filter rows run the daemon's FilterHandler");
        Console.WriteLine("aggregate per-key: 5 000 keys x 3 types (15 000 groups a window), count sum max p99, 1 s event-time windows, 200 000 events a second of event time");
        Console.WriteLine("aggregate sketch: 500 keys x 3 types (1 500 groups a window, ~130 values each: sketched), count sum max p99, 1 s event-time windows, 200 000 events a second of event time");
        Console.WriteLine("aggregate 1M groups: 1 000 000 keys, two events each in one 1 s event-time window, count sum max p99, max_groups 1 000 000");
        var rows = new List<Row>();
        if (Wants("filter") || Wants("aggregate"))
        {
            using var workload = new Workload(Generate(events), conditionFields: []);
            if (Wants("filter"))
            {
                rows.Add(FilterRow("filter", repeats, workload, Condition, events, FilterBaseline));
            }

            if (Wants("aggregate"))
            {
                rows.Add(AggregateRow("aggregate", repeats, workload, events, AllMetrics, 100_000));
            }
        }

        if (Wants("filter per-key"))
        {
            // The per-key pipeline's ring: the decoder records .region (the filter's field) and
            // hashes the type,key group key into every row.
            using var workload = new Workload(GeneratePerKeyTraffic(events), conditionFields: ["region"]);
            rows.Add(FilterRow("filter per-key", repeats, workload, PerKeyCondition, events, FilterPerKeyBaseline));
        }

        if (Wants("aggregate per-key"))
        {
            using var workload = new Workload(GeneratePerKey(events, keys: 5_000, types: 3, spacingNanos: 5_000), conditionFields: []);
            rows.Add(AggregateRow("aggregate per-key (15k groups)", repeats, workload, events, PerKeyMetrics, 100_000));
        }

        if (Wants("aggregate sketch"))
        {
            using var workload = new Workload(GeneratePerKey(events, keys: 500, types: 3, spacingNanos: 5_000), conditionFields: []);

            // ~130 values a group a window: past the exact values, so the quantile sketch's key
            // mapping, bins and p99 read are on the path.
            rows.Add(AggregateRow("aggregate sketch (1.5k groups)", repeats, workload, events, PerKeyMetrics, 100_000));
        }

        if (Wants("aggregate 1M"))
        {
            using var workload = new Workload(GeneratePerKey(2_000_000, keys: 1_000_000, types: 1, spacingNanos: 400), conditionFields: []);
            rows.Add(AggregateRow("aggregate 1M groups", repeats, workload, 2_000_000, PerKeyMetrics, 1_000_000));
        }

        KeyMapping? mapping = Wants("key mapping") ? MeasureKeyMapping(repeats) : null;

        Console.WriteLine();
        Console.WriteLine("| stage | eventd events/s | eventd B/event | native B/group | baseline events/s | baseline B/event | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach ((string stage, Measure ours, Measure baseline, double? groupBytes) in rows)
        {
            Console.WriteLine($"| {stage} | {ours.PerSecond:N0} | {ours.BytesPerEvent:0.###} | {(groupBytes is { } b ? b.ToString("N0") : "")} | {baseline.PerSecond:N0} | {baseline.BytesPerEvent:0.###} | {ours.PerSecond / baseline.PerSecond:0.0}× |");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        using (var stream = File.Create(output))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("benchmark", "stages");
            json.WriteString("date", DateTime.UtcNow.ToString("O"));
            json.WriteNumber("events", events);
            json.WriteStartArray("stages");
            foreach ((string stage, Measure ours, Measure baseline, double? groupBytes) in rows)
            {
                json.WriteStartObject();
                json.WriteString("stage", stage);
                json.WriteNumber("eventd_events_per_second", Math.Round(ours.PerSecond));
                json.WriteNumber("eventd_bytes_per_event", ours.BytesPerEvent);
                json.WriteNumber("baseline_events_per_second", Math.Round(baseline.PerSecond));
                json.WriteNumber("baseline_bytes_per_event", baseline.BytesPerEvent);
                json.WriteNumber("ratio", Math.Round(ours.PerSecond / baseline.PerSecond, 2));
                if (groupBytes is { } perGroup)
                {
                    json.WriteNumber("eventd_native_bytes_per_group", Math.Round(perGroup));
                }
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (mapping is { } keyMapping)
            {
                json.WriteStartObject("key_mapping");
                json.WriteNumber("sketch_ns_per_value", Math.Round(keyMapping.SketchNanos, 3));
                json.WriteNumber("log_ns_per_value", Math.Round(keyMapping.LogNanos, 3));
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        Console.WriteLine();
        if (mapping is { } measured)
        {
            Console.WriteLine($"sketch key mapping: QuantileSketch.Key {measured.SketchNanos:0.00} ns/value; ⌈ln v / ln γ⌉ with Math.Log {measured.LogNanos:0.00} ns/value ({MappingValues:N0} values 0.01..1000 and lognormal, best of {repeats})");
        }

        Console.WriteLine($"results written to {output}");
        return 0;

        bool Wants(string row) => row.StartsWith(only, StringComparison.Ordinal);
    }

    private static byte[][] Generate(int count)
    {
        var random = new Random(42);
        string[] types = ["purchase", "click", "view", "refund"];
        long start = 1_764_151_200_000_000_000;
        var lines = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            // 100 000 events per second of event time: windows roll over ten times per million.
            long ts = start + i * 10_000L;
            string line = $"{{\"ts\":{ts},\"type\":\"{types[random.Next(types.Length)]}\",\"key\":\"user-{random.Next(1000)}\",\"value\":{random.Next(0, 10_000) / 100.0},\"region\":\"eu\"}}";
            lines[i] = Encoding.UTF8.GetBytes(line);
        }

        return lines;
    }

    /// <summary>
    /// Realistic per-key traffic: ~100-byte events, <paramref name="keys"/> keys under each of
    /// <paramref name="types"/> types drawn at random, one event every <paramref name="spacingNanos"/> of event time.
    /// </summary>
    private static byte[][] GeneratePerKey(int count, int keys, int types, long spacingNanos)
    {
        var random = new Random(7);
        string[] names = ["purchase", "checkout", "pageview"];
        long start = 1_764_151_200_000_000_000;
        var lines = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            long ts = start + (i * spacingNanos);
            // With one type, every key appears count / keys times, each pass in a scrambled order
            // (2654435761 is coprime with a power-of-ten key count: a permutation).
            int key = types == 1 ? (int)((i % keys) * 2654435761L % keys) : random.Next(keys);
            string line = $"{{\"ts\":{ts},\"type\":\"{names[random.Next(types)]}\",\"key\":\"user-{key:D7}\",\"value\":{random.Next(0, 100_000) / 100.0},\"region\":\"eu-west-1\"}}";
            lines[i] = Encoding.UTF8.GetBytes(line);
        }

        return lines;
    }

    /// <summary>
    /// The events of the end-to-end per-key workload (LoadGen's <c>PerKeyShape</c>): ~107 bytes,
    /// types view:50 click:30 purchase:20, 5 000 keys, <c>value</c> uniform in [0, 100) written
    /// with two decimals (10 % below 10), <c>region</c> eu:45 us:40 ap:15 and a <c>msg</c> padding.
    /// </summary>
    private static byte[][] GeneratePerKeyTraffic(int count)
    {
        var random = new Random(11);
        long start = 1_764_151_200_000_000_000;
        var lines = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            int pick = random.Next(100);
            string type = pick < 50 ? "view" : pick < 80 ? "click" : "purchase";
            pick = random.Next(100);
            string region = pick < 45 ? "eu" : pick < 85 ? "us" : "ap";
            string value = (random.Next(0, 10_000) / 100.0).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
            string head = $"{{\"ts\":{start + (i * 5_000L)},\"type\":\"{type}\",\"key\":\"user-{random.Next(5_000):D4}\",\"value\":{value},\"region\":\"{region}\",\"msg\":\"";
            int padding = Math.Max(0, 107 - head.Length - 2);
            padding = random.Next(padding / 2, padding + (padding / 2) + 1);
            lines[i] = Encoding.UTF8.GetBytes(head + new string((char)('a' + random.Next(26)), padding) + "\"}");
        }

        return lines;
    }

    private static void Fill(EventRing ring, byte[][] lines)
    {
        IngestBatch batch = ring.BeginBatch();
        foreach (byte[] line in lines)
        {
            var slot = default(EventSlot);
            if (!JsonEventParser.TryParse(line, ref slot, out _))
            {
                throw new InvalidOperationException("generated an invalid line");
            }

            slot.SourceId = 0;
            batch.TryAppend(ref slot, line, wait: false);
        }

        batch.Dispose();
    }

    private static Measure Best(int repeats, long events, Func<long> run)
    {
        Measure best = new(TimeSpan.MaxValue, 0, 0);
        for (int i = 0; i < repeats; i++)
        {
            GC.Collect();
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            long checksum = run();
            clock.Stop();
            long bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
            if (checksum == long.MinValue)
            {
                Console.WriteLine("unreachable");
            }

            if (clock.Elapsed < best.Elapsed)
            {
                best = new Measure(clock.Elapsed, bytes, events);
            }
        }

        return best;
    }

    /// <summary>
    /// The daemon's filter stage over every event of the ring: <see cref="FilterHandler"/> bound to
    /// the ring's catalog, on one thread, as the graph builds it. Returns how many passed.
    /// </summary>
    private static long FilterOurs(EventRing ring, string condition, int events)
    {
        if (!FilterProgram.TryCompile(condition, out FilterProgram? program, out ExpressionError error))
        {
            throw new InvalidOperationException(error.Message);
        }

        var handler = new FilterHandler(ring.Reader, program, new Reach(SourceMask: 1, PassMask: 0), markBit: 63, new StageMetrics("filter", "transform"));
        handler.OnStart();
        for (long s = 0; s < events; s++)
        {
            handler.OnEvent(ref ring.Slots[s], s, endOfBatch: (s & 1023) == 1023);
        }

        handler.OnShutdown();
        return events;
    }

    /// <summary>A filter row's eventd run and baseline run, after checking that both let the same events through.</summary>
    private static Row FilterRow(string stage, int repeats, Workload workload, string condition, int events, Func<Poco[], long> baseline)
    {
        Measure ours = Best(repeats, events, () => FilterOurs(workload.Ring, condition, events));
        long passed = 0;
        for (long s = 0; s < events; s++)
        {
            passed += (long)(~workload.Ring.Slots[s].Marks >> 63);
        }

        if (passed != baseline(workload.Pocos))
        {
            throw new InvalidOperationException($"{stage}: eventd let {passed} events through, the baseline {baseline(workload.Pocos)}");
        }

        return new Row(stage, ours, Best(repeats, events, () => baseline(workload.Pocos)), null);
    }

    private static long FilterBaseline(Poco[] pocos)
    {
        Func<Poco, bool> condition = e => e.Type == "purchase" && e.Value > 10;
        return pocos.Where(condition).LongCount();
    }

    /// <summary>The e2e baseline's per-key check (<c>Pipeline.Wanted</c>) over the same POCOs.</summary>
    private static long FilterPerKeyBaseline(Poco[] pocos)
    {
        Func<Poco, bool> condition = e => e.Value >= 10 && e.Region is string region && region != "ap";
        return pocos.Where(condition).LongCount();
    }

    private const AggregateMetrics AllMetrics = AggregateMetrics.Count | AggregateMetrics.Sum | AggregateMetrics.Min | AggregateMetrics.Max | AggregateMetrics.Mean | AggregateMetrics.P99;

    private const AggregateMetrics PerKeyMetrics = AggregateMetrics.Count | AggregateMetrics.Sum | AggregateMetrics.Max | AggregateMetrics.P99;

    /// <summary>
    /// One aggregate row: eventd (and the native bytes its group table touched per group, from the
    /// last run) against the baseline.
    /// </summary>
    private static Row AggregateRow(string stage, int repeats, Workload workload, int events, AggregateMetrics metrics, int maxGroups)
    {
        Measure ours = Best(repeats, events, () => AggregateOurs(workload.Ring, events, metrics, maxGroups));
        (long bytes, int peak) = _lastGroupMemory;
        Measure baseline = Best(repeats, events, () => AggregateBaseline(workload.Pocos));
        return new Row(stage, ours, baseline, (double)bytes / Math.Max(1, peak));
    }

    /// <summary>The group table's native memory after the last aggregate run: bytes touched and the most groups held at once.</summary>
    private static (long Bytes, int PeakGroups) _lastGroupMemory;

    private static long AggregateOurs(EventRing ring, int events, AggregateMetrics metrics, int maxGroups)
    {
        var spec = new AggregateSpec
        {
            WindowNanos = 1_000_000_000,
            GroupBy = [new GroupField(GroupFieldKind.Type, "type"), new GroupField(GroupFieldKind.Key, "key")],
            Metrics = metrics,
            EventTime = true,
            LatenessNanos = 0,
            MaxGroups = maxGroups,
        };
        using var output = new EventRing(1 << 16, 1 << 24, lockMemory: false, notifyOnPublish: false);
        var handler = new AggregateHandler(ring.Reader, output, spec, new Reach(SourceMask: 1, PassMask: 0), new StageMetrics("agg", "transform"));
        handler.OnStart();
        for (long s = 0; s < events; s++)
        {
            handler.OnEvent(ref ring.Slots[s], s, endOfBatch: (s & 1023) == 1023);
        }

        handler.OnShutdown();
        _lastGroupMemory = handler.GroupMemory;
        return output.Sequencer.Cursor.Value + 1;
    }

    /// <summary>What a .NET user would write: a dictionary of lists per window, LINQ at window close.</summary>
    private static long AggregateBaseline(Poco[] pocos)
    {
        var windows = new Dictionary<long, Dictionary<string, List<double>>>();
        long emitted = 0;
        long current = long.MinValue;
        foreach (Poco e in pocos)
        {
            long window = e.Ts / 1_000_000_000 * 1_000_000_000;
            if (window > current && current != long.MinValue)
            {
                emitted += Close(windows, current);
            }

            current = Math.Max(current, window);
            if (!windows.TryGetValue(window, out var groups))
            {
                windows[window] = groups = [];
            }

            string group = e.Type + "\u0000" + e.Key;
            if (!groups.TryGetValue(group, out var values))
            {
                groups[group] = values = [];
            }

            values.Add(e.Value);
        }

        foreach (long window in windows.Keys.ToList())
        {
            emitted += Close(windows, window);
        }

        return emitted;
    }

    private static long Close(Dictionary<long, Dictionary<string, List<double>>> windows, long window)
    {
        if (!windows.Remove(window, out var groups))
        {
            return 0;
        }

        long lines = 0;
        foreach ((string group, List<double> values) in groups)
        {
            var sorted = values.OrderBy(v => v).ToList();
            var result = new { group, count = values.Count, sum = values.Sum(), min = values.Min(), max = values.Max(), mean = values.Average(), p99 = sorted[Math.Max(0, (int)Math.Ceiling(0.99 * sorted.Count) - 1)] };
            lines += result.count > 0 ? 1 : 0;
        }

        return lines;
    }

    private const int MappingValues = 1 << 20;

    /// <summary>
    /// The sketch's value → key mapping alone, in ns per value: <see cref="QuantileSketch.Key"/>
    /// against the same DDSketch mapping computed with <c>Math.Log</c>, over prices like the
    /// per-key workload's and a wide lognormal (σ = 3).
    /// </summary>
    private static KeyMapping MeasureKeyMapping(int repeats)
    {
        var random = new Random(11);
        double[] values = new double[MappingValues];
        for (int i = 0; i < values.Length; i++)
        {
            double normal = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            values[i] = (i & 1) == 0 ? (random.Next(1, 100_000) / 100.0) : Math.Exp(3 * normal);
        }

        double inverseLogGamma = 1 / Math.Log((1 + QuantileSketch.RelativeError) / (1 - QuantileSketch.RelativeError));
        double sketch = double.MaxValue;
        double log = double.MaxValue;
        long checksum = 0;
        for (int r = 0; r < Math.Max(3, repeats) * 3; r++)
        {
            // Plain loops, no delegate: the call would cost as much as the mapping.
            var clock = Stopwatch.StartNew();
            foreach (double v in values)
            {
                checksum += QuantileSketch.Key(v);
            }

            sketch = Math.Min(sketch, clock.Elapsed.TotalNanoseconds / values.Length);
            clock.Restart();
            foreach (double v in values)
            {
                checksum += (int)Math.Ceiling(Math.Log(v) * inverseLogGamma);
            }

            log = Math.Min(log, clock.Elapsed.TotalNanoseconds / values.Length);
        }

        if (checksum == long.MinValue)
        {
            Console.WriteLine("unreachable");
        }

        return new KeyMapping(sketch, log);
    }

    private readonly record struct KeyMapping(double SketchNanos, double LogNanos);

    private readonly record struct Row(string Stage, Measure Ours, Measure Baseline, double? GroupBytes);

    /// <summary>One workload's events, in a ring (for eventd) and deserialized (for the baseline).</summary>
    private sealed class Workload : IDisposable
    {
        public Workload(byte[][] lines, string[] conditionFields)
        {
            Ring = new EventRing((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)lines.Length), 1L << 29, lockMemory: false, notifyOnPublish: false);
            // As the daemon's graph does for an aggregate by type and key: the decoder hashes the
            // group key into each event's row, and the aggregate reads the hash (and looks ahead) from there.
            // A filter's .fields go in the catalog too, as the daemon adds a condition's fields.
            var catalog = new FieldCatalog.Builder();
            foreach (string field in conditionFields)
            {
                catalog.AddField(field);
            }

            catalog.AddKey([KeyPart.Type, KeyPart.Key]);
            Ring.UseCatalog(catalog.Build());
            Fill(Ring, lines);
            Pocos = lines.Select(l => JsonSerializer.Deserialize(l, PocoContext.Default.Poco)!).ToArray();
        }

        public EventRing Ring { get; }

        public Poco[] Pocos { get; }

        public void Dispose() => Ring.Dispose();
    }

    /// <summary>The best run of one row: its time, the managed bytes it allocated and the events it processed.</summary>
    private readonly record struct Measure(TimeSpan Elapsed, long Bytes, long Events)
    {
        public double PerSecond => Events / Elapsed.TotalSeconds;

        public double BytesPerEvent => (double)Bytes / Events;
    }
}

public sealed class Poco
{
    [JsonPropertyName("ts")]
    public long Ts { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("value")]
    public double Value { get; set; }

    [JsonPropertyName("region")]
    public string? Region { get; set; }
}

[JsonSerializable(typeof(Poco))]
internal sealed partial class PocoContext : JsonSerializerContext;
