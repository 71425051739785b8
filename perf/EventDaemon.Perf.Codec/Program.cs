using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EventDaemon.Events.Codecs;

namespace EventDaemon.Perf.Codec;

/// <summary>
/// Decode throughput and allocation of the JSON and binary decoders against JsonSerializer into a
/// POCO in the same process, so the ratio survives a noisy machine. Prints a markdown table and
/// writes artifacts/bench/codec.json. Arguments: events in the corpus, passes per run, runs (best kept), output path.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        int events = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
        int passes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        int runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        string output = args.Length > 3 ? args[3] : "artifacts/bench/codec.json";

        Corpus ints = Corpus.Create(events, rfc3339Timestamps: false);
        Corpus rfc = Corpus.Create(events, rfc3339Timestamps: true);
        var framer = new LineFramer(65536);
        var decoder = new BinaryFrameDecoder(65536);

        Console.WriteLine($"codec decode: {events:N0} events × {passes} passes per run, best of {runs}; " +
            $"{ints.JsonStream.Length / (double)events:0} B/line JSON, {ints.FrameStream.Length / (double)events:0} B/frame binary; " +
            $"{Environment.ProcessorCount} CPUs, {(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "Native AOT")}");

        Result poco = Measure("JsonSerializer → POCO (baseline)", events, ints.JsonStream.Length, passes, runs, () => Scenarios.Poco(ints.JsonLines));
        var results = new List<Result>
        {
            Measure("JSON lines: LineFramer + JsonEventParser", events, ints.JsonStream.Length, passes, runs, () => Scenarios.JsonLines(framer, ints.JsonStream)),
            Measure("JSON lines, RFC 3339 ts", events, rfc.JsonStream.Length, passes, runs, () => Scenarios.JsonLines(framer, rfc.JsonStream)),
            Measure("binary frames: BinaryFrameDecoder", events, ints.FrameStream.Length, passes, runs, () => Scenarios.BinaryFrames(decoder, ints.FrameStream)),
            Measure("Utf8JsonReader, 4 fields (design alternative)", events, ints.JsonStream.Length, passes, runs, () => Scenarios.Utf8Reader(ints.JsonLines)),
            poco,
        };

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

    private static Result Measure(string name, int events, long bytes, int passes, int runs, Func<double> pass)
    {
        double sink = pass(); // warm-up: JIT tiers, pools, caches
        double best = double.MaxValue;
        long allocated = 0;
        int gen0 = 0;
        for (int r = 0; r < runs; r++)
        {
            int collections = GC.CollectionCount(0);
            long before = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            for (int p = 0; p < passes; p++)
            {
                sink += pass();
            }

            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            long used = GC.GetAllocatedBytesForCurrentThread() - before;
            if (seconds < best)
            {
                best = seconds;
                allocated = used;
                gen0 = GC.CollectionCount(0) - collections;
            }
        }

        if (sink == 0.123)
        {
            Console.WriteLine(sink);
        }

        double totalEvents = (double)events * passes;
        return new Result(name, totalEvents / best, bytes * (double)passes / best / 1e6, allocated / totalEvents, gen0);
    }

    private static void Write(string path, int events, int passes, int runs, List<Result> results, Result poco)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
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

    private sealed record Result(string Name, double EventsPerSecond, double MegabytesPerSecond, double BytesPerEvent, int Gen0);
}
