using System.Diagnostics;
using System.Text.Json;

namespace EventDaemon.Perf.Ring;

internal readonly record struct Result(double EventsPerSecond, double BytesPerEvent)
{
    /// <summary>Runs <paramref name="body"/> and turns its event count into a rate and an allocation figure.</summary>
    public static Result Measure(long events, Func<long> body)
    {
        GC.Collect();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        long checksum = body();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        if (checksum == long.MinValue)
        {
            Console.WriteLine("unreachable: keeps the checksum alive");
        }

        return new Result(events / seconds, (double)bytes / events);
    }
}

/// <summary>One process's run: a scenario under one strategy, written for the report step.</summary>
internal sealed record RunRecord(string Strategy, string Scenario, long Events, int Repeats,
    double BestEventsPerSecond, double MinEventsPerSecond, double MedianEventsPerSecond, double BytesPerEvent)
{
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteString("strategy", Strategy);
        json.WriteString("scenario", Scenario);
        json.WriteNumber("events", Events);
        json.WriteNumber("repeats", Repeats);
        json.WriteNumber("best", BestEventsPerSecond);
        json.WriteNumber("min", MinEventsPerSecond);
        json.WriteNumber("median", MedianEventsPerSecond);
        json.WriteNumber("bytes_per_event", BytesPerEvent);
        json.WriteEndObject();
    }

    public static RunRecord Load(string path)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement e = doc.RootElement;
        return new RunRecord(e.GetProperty("strategy").GetString()!, e.GetProperty("scenario").GetString()!,
            e.GetProperty("events").GetInt64(), e.GetProperty("repeats").GetInt32(), e.GetProperty("best").GetDouble(),
            e.GetProperty("min").GetDouble(), e.GetProperty("median").GetDouble(), e.GetProperty("bytes_per_event").GetDouble());
    }
}

internal readonly record struct Latency(long P50, long P99, long P999, long Max)
{
    public static Latency From(long[] samples)
    {
        Array.Sort(samples);
        long At(double q) => samples[Math.Min(samples.Length - 1, (int)(q * samples.Length))];
        return new Latency(At(0.5), At(0.99), At(0.999), samples[^1]);
    }

    public void Write(Utf8JsonWriter json, string name)
    {
        json.WriteStartObject(name);
        json.WriteNumber("p50", P50);
        json.WriteNumber("p99", P99);
        json.WriteNumber("p99_9", P999);
        json.WriteNumber("max", Max);
        json.WriteEndObject();
    }
}

internal struct Slot
{
    public long Value;
}
