using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Fields;

namespace EventDaemon.Perf.Codec;

/// <summary>
/// Decode throughput and allocation of the JSON and binary decoders against JsonSerializer into a
/// POCO in the same process, so the ratio survives a noisy machine. Prints a markdown table and
/// writes artifacts/bench/codec.json. Arguments: events in the corpus, passes per run, runs (best kept), output path,
/// and optionally a text that selects the scenarios by name.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
        int passes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        int runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        string output = args.Length > 3 ? args[3] : "artifacts/bench/codec.json";

        // Optional: only the scenarios whose name contains this text (and the baseline), for a quick look at one change.
        string? only = args.Length > 4 ? args[4] : null;

        Corpus ints = Corpus.Create(events, rfc3339Timestamps: false);
        Corpus rfc = Corpus.Create(events, rfc3339Timestamps: true);
        Corpus perKey = Corpus.CreatePerKey(events);
        FieldCatalog perKeyCatalog = Scenarios.PerKeyCatalog();
        FieldCatalog byTypeCatalog = Scenarios.ByTypeCatalog();
        var framer = new LineFramer(65536);
        var decoder = new BinaryFrameDecoder(65536);

        Console.WriteLine($"codec decode: {events:N0} events × {passes} passes per run, best of {runs} interleaved rounds; " +
            $"{ints.JsonStream.Length / (double)events:0} B/line JSON, {ints.FrameStream.Length / (double)events:0} B/frame binary; " +
            $"{Environment.ProcessorCount} CPUs, {(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "Native AOT")}");

        var scenarios = new Scenario[]
        {
            new("JSON lines: LineFramer + JsonEventParser", ints.JsonStream.Length, () => Scenarios.JsonLines(framer, ints.JsonStream)),
            new("JSON lines: LineFramer + JsonEventParser with the stream's member order", ints.JsonStream.Length,
                () => Scenarios.JsonLinesInOrder(framer, ints.JsonStream, FieldCatalog.Empty)),
            new("JsonEventParser alone, pre-split lines (like the baseline)", ints.JsonStream.Length, () => Scenarios.JsonParseOnly(ints.JsonLines)),
            new("per-key lines (107 B): LineFramer + JsonEventParser, catalog .region + key (type, key)", perKey.JsonStream.Length,
                () => Scenarios.JsonLinesWithCatalog(framer, perKey.JsonStream, perKeyCatalog)),
            new("per-key lines (107 B): LineFramer + JsonEventParser with the stream's member order (as the daemon's ingest), catalog .region + key (type, key)",
                perKey.JsonStream.Length, () => Scenarios.JsonLinesInOrder(framer, perKey.JsonStream, perKeyCatalog)),
            new("by-type: per-key lines, LineFramer + JsonEventParser, catalog key (type)", perKey.JsonStream.Length,
                () => Scenarios.JsonLinesWithCatalog(framer, perKey.JsonStream, byTypeCatalog)),
            new("by-type: per-key lines, LineFramer + JsonEventParser with the stream's member order, catalog key (type)", perKey.JsonStream.Length,
                () => Scenarios.JsonLinesInOrder(framer, perKey.JsonStream, byTypeCatalog)),
            new("per-key lines, JsonEventParser alone, no catalog", perKey.JsonStream.Length, () => Scenarios.JsonParseOnly(perKey.JsonLines)),
            new("JSON lines, RFC 3339 ts", rfc.JsonStream.Length, () => Scenarios.JsonLines(framer, rfc.JsonStream)),
            new("binary frames: BinaryFrameDecoder", ints.FrameStream.Length, () => Scenarios.BinaryFrames(decoder, ints.FrameStream)),
            new("Utf8JsonReader, 4 fields (design alternative)", ints.JsonStream.Length, () => Scenarios.Utf8Reader(ints.JsonLines)),
            new("JsonSerializer → POCO (baseline)", ints.JsonStream.Length, () => Scenarios.Poco(ints.JsonLines)),
        };
        if (only is not null)
        {
            scenarios = [.. scenarios.Where((s, k) => k == scenarios.Length - 1 || s.Name.Contains(only, StringComparison.Ordinal))];
        }

        List<Result> results = Measure(scenarios, events, passes, runs);
        Result poco = results[^1];

        Console.WriteLine();
        Console.WriteLine("| decoder | MB/s | events/s | B/event | gen0 GCs | vs POCO |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (Result r in results)
        {
            Console.WriteLine($"| {r.Name} | {r.MegabytesPerSecond:N0} | {r.EventsPerSecond:N0} | {r.BytesPerEvent:0.##} | {r.Gen0} | {r.EventsPerSecond / poco.EventsPerSecond:0.0}× |");
        }

        Write(output, events, passes, runs, results, poco);
        Console.WriteLine();
        Console.WriteLine($"wrote {output}");
        return 0;
    }

    /// <summary>
    /// Runs every scenario once per round, round after round, and keeps each one's best round:
    /// interleaving exposes all scenarios to the same background load, so their ratios hold.
    /// </summary>
    private static List<Result> Measure(Scenario[] scenarios, int events, int passes, int runs)
    {
        double sink = 0;
        foreach (Scenario scenario in scenarios)
        {
            sink += scenario.Pass(); // warm-up: JIT tiers, pools, caches
        }

        var best = new double[scenarios.Length];
        var allocated = new long[scenarios.Length];
        var gen0 = new int[scenarios.Length];
        Array.Fill(best, double.MaxValue);
        for (int r = 0; r < runs; r++)
        {
            for (int k = 0; k < scenarios.Length; k++)
            {
                int collections = GC.CollectionCount(0);
                long before = GC.GetAllocatedBytesForCurrentThread();
                long start = Stopwatch.GetTimestamp();
                for (int p = 0; p < passes; p++)
                {
                    sink += scenarios[k].Pass();
                }

                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                long used = GC.GetAllocatedBytesForCurrentThread() - before;
                if (seconds < best[k])
                {
                    best[k] = seconds;
                    allocated[k] = used;
                    gen0[k] = GC.CollectionCount(0) - collections;
                }
            }
        }

        if (sink == 0.123)
        {
            Console.WriteLine(sink);
        }

        double totalEvents = (double)events * passes;
        return [.. scenarios.Select((s, k) => new Result(s.Name, totalEvents / best[k], s.Bytes * (double)passes / best[k] / 1e6, allocated[k] / totalEvents, gen0[k]))];
    }

    private static void Write(string path, int events, int passes, int runs, List<Result> results, Result poco)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteString("benchmark", "codec");
        json.WriteString("runtime", System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "jit" : "native-aot");
        json.WriteNumber("cpus", Environment.ProcessorCount);
        json.WriteNumber("events", events);
        json.WriteNumber("passes", passes);
        json.WriteNumber("runs", runs);
        json.WriteStartArray("results");
        foreach (Result r in results)
        {
            json.WriteStartObject();
            json.WriteString("decoder", r.Name);
            json.WriteNumber("megabytes_per_second", Math.Round(r.MegabytesPerSecond, 1));
            json.WriteNumber("events_per_second", Math.Round(r.EventsPerSecond));
            json.WriteNumber("allocated_bytes_per_event", Math.Round(r.BytesPerEvent, 3));
            json.WriteNumber("gen0_collections", r.Gen0);
            json.WriteNumber("ratio_vs_poco", Math.Round(r.EventsPerSecond / poco.EventsPerSecond, 2));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private sealed record Scenario(string Name, long Bytes, Func<double> Pass);

    private sealed record Result(string Name, double EventsPerSecond, double MegabytesPerSecond, double BytesPerEvent, int Gen0);
}
