using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EventDaemon.Perf.Ring;

/// <summary>
/// Merges one directory of runs (RunRecord JSON plus the matching <c>perf stat -x,</c> output,
/// STRATEGY.SCENARIO.json / .perf) into one JSON document and one markdown table. System calls are
/// reported per million events, counted over the whole process (graph start and halt included:
/// a few hundred calls, noise against millions of events).
/// </summary>
internal static class Report
{
    private static readonly string[] Syscalls = ["futex", "membarrier", "sched_yield"];

    public static void Write(string dir, string jsonPath, string markdownPath)
    {
        var runs = new List<(RunRecord Run, Dictionary<string, long>? Calls)>();
        foreach (string strategy in Program.Strategies)
        {
            foreach (string scenario in Program.Scenarios.Keys)
            {
                string result = Path.Combine(dir, $"{strategy}.{scenario}.json");
                if (File.Exists(result))
                {
                    string perf = Path.Combine(dir, $"{strategy}.{scenario}.perf");
                    runs.Add((RunRecord.Load(result), File.Exists(perf) ? ParsePerf(perf) : null));
                }
            }
        }

        string pingPong = Path.Combine(dir, "pingpong.json");
        WriteJson(jsonPath, runs, File.Exists(pingPong) ? File.ReadAllText(pingPong) : null);
        string table = Markdown(runs);
        File.WriteAllText(markdownPath, table);
        Console.WriteLine();
        Console.Write(table);
        Console.WriteLine($"results written to {jsonPath} and {markdownPath}");
    }

    /// <summary>perf stat -x, lines: value,unit,event,run-time,percent,...; '#' lines are comments.</summary>
    private static Dictionary<string, long> ParsePerf(string path)
    {
        var calls = new Dictionary<string, long>();
        foreach (string line in File.ReadLines(path))
        {
            string[] fields = line.Split(',');
            if (line.StartsWith('#') || fields.Length < 3)
            {
                continue;
            }

            foreach (string name in Syscalls)
            {
                if (fields[2] == $"syscalls:sys_enter_{name}" && long.TryParse(fields[0], CultureInfo.InvariantCulture, out long value))
                {
                    calls[name] = value;
                }
            }
        }

        return calls;
    }

    private static double PerMillion(RunRecord run, long calls) => calls * 1e6 / ((double)run.Events * run.Repeats);

    private static void WriteJson(string path, List<(RunRecord Run, Dictionary<string, long>? Calls)> runs, string? pingPong)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("benchmark", "ring");
        json.WriteString("date", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        json.WriteNumber("cpus", Environment.ProcessorCount);
        json.WriteNumber("ring_slots", 1 << 16);
        json.WriteBoolean("pinned", false);
        json.WriteStartArray("throughput");
        foreach (var (run, calls) in runs)
        {
            json.WriteStartObject();
            json.WriteString("scenario", Program.Scenarios[run.Scenario]);
            json.WriteString("strategy", run.Strategy);
            json.WriteNumber("events_per_run", run.Events);
            json.WriteNumber("runs", run.Repeats);
            json.WriteNumber("events_per_second_best", Math.Round(run.BestEventsPerSecond));
            json.WriteNumber("events_per_second_median", Math.Round(run.MedianEventsPerSecond));
            json.WriteNumber("events_per_second_min", Math.Round(run.MinEventsPerSecond));
            json.WriteNumber("bytes_per_event", run.BytesPerEvent);
            if (calls is not null)
            {
                json.WriteStartObject("syscalls_per_million_events");
                foreach (string name in Syscalls)
                {
                    json.WriteNumber(name, Math.Round(PerMillion(run, calls.GetValueOrDefault(name)), 1));
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (pingPong is not null)
        {
            json.WritePropertyName("ping_pong_ns");
            json.WriteRawValue(pingPong);
        }

        json.WriteEndObject();
    }

    private static string Markdown(List<(RunRecord Run, Dictionary<string, long>? Calls)> runs)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Ring throughput, {Environment.ProcessorCount} CPUs, consumers not pinned; M events/s best (median) of the runs; system calls per million events.");
        md.AppendLine();
        md.AppendLine("| scenario | strategy | M events/s | B/event | futex | membarrier | sched_yield |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (string scenario in Program.Scenarios.Keys)
        {
            foreach (var (run, calls) in runs.Where(r => r.Run.Scenario == scenario))
            {
                string Calls(string name) => calls is null ? "–" : PerMillion(run, calls.GetValueOrDefault(name)).ToString("0.#", CultureInfo.InvariantCulture);
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {Program.Scenarios[scenario]} | {run.Strategy} | {run.BestEventsPerSecond / 1e6:0.0} ({run.MedianEventsPerSecond / 1e6:0.0}) | " +
                    $"{run.BytesPerEvent:0.###} | {Calls("futex")} | {Calls("membarrier")} | {Calls("sched_yield")} |");
            }
        }

        return md.ToString();
    }
}
