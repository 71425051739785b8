using System.Globalization;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Perf.Ring;

/// <summary>
/// Ring hand-off throughput for every scenario and wait strategy, with bounded
/// System.Threading.Channels doing the same work as a yardstick that survives a noisy machine.
/// scripts/bench-ring.sh runs one scenario and strategy per process, so that <c>perf stat</c> can
/// count that run's system calls, then has this program merge the runs into
/// artifacts/bench/ring.json and a markdown table.
/// </summary>
/// <remarks>
/// <code>
/// run STRATEGY SCENARIO EVENTS REPEATS RESULT.json   one scenario, one strategy, best of REPEATS
/// pingpong RESULT.json                               round-trip latency, adaptive and channels
/// report DIR OUT.json OUT.md                         merges DIR/*.json with DIR/*.perf (perf stat -x,)
/// </code>
/// </remarks>
public static class Program
{
    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["run", var strategy, var scenario, var events, var repeats, var result]:
                return Run(strategy, scenario, long.Parse(events, CultureInfo.InvariantCulture),
                    int.Parse(repeats, CultureInfo.InvariantCulture), result);
            case ["pingpong", var result]:
                PingPong.Write(result, 200_000);
                return 0;
            case ["report", var dir, var json, var markdown]:
                Report.Write(dir, json, markdown);
                return 0;
            default:
                Console.Error.WriteLine("usage: run STRATEGY SCENARIO EVENTS REPEATS RESULT.json | pingpong RESULT.json | report DIR OUT.json OUT.md");
                Console.Error.WriteLine($"strategies: {string.Join(' ', Strategies)}; scenarios: {string.Join(' ', Scenarios.Keys)}");
                return 2;
        }
    }

    public static readonly string[] Strategies = ["adaptive", "blocking", "yielding", "sleeping", "busy-spin", "channels"];

    /// <summary>Scenario keys (file names) and the titles the table shows.</summary>
    public static readonly Dictionary<string, string> Scenarios = new()
    {
        ["1p1c"] = "1P→1C",
        ["1p1c-batched"] = "1P→1C, producer batches of 100",
        ["pipeline"] = "1P→3C pipeline",
        ["multicast"] = "1P→3C multicast",
        ["3p1c"] = "3P→1C",
    };

    private static int Run(string strategy, string scenario, long events, int repeats, string resultPath)
    {
        if (!Scenarios.ContainsKey(scenario))
        {
            Console.Error.WriteLine($"unknown scenario '{scenario}'");
            return 2;
        }

        Func<string, long, Result>? run = strategy switch
        {
            "adaptive" => Throughput<AdaptiveWait>.Run,
            "blocking" => Throughput<BlockingWait>.Run,
            "yielding" => Throughput<YieldingWait>.Run,
            "sleeping" => Throughput<SleepingWait>.Run,
            "busy-spin" => Throughput<BusySpinWait>.Run,
            "channels" => ChannelThroughput.Run,
            _ => null,
        };
        if (run is null)
        {
            Console.Error.WriteLine($"unknown strategy '{strategy}'");
            return 2;
        }

        var rates = new List<double>();
        double bytes = 0;
        for (int i = 0; i < repeats; i++)
        {
            Result r = run(scenario, events);
            rates.Add(r.EventsPerSecond);
            bytes = Math.Max(bytes, r.BytesPerEvent);
        }

        var record = new RunRecord(strategy, scenario, events, repeats, rates.Max(), rates.Min(), Median(rates), bytes);
        record.Save(resultPath);
        Console.WriteLine($"  {Scenarios[scenario],-32} {strategy,-10} best {record.BestEventsPerSecond / 1e6,8:0.0} M/s " +
            $"(min {record.MinEventsPerSecond / 1e6:0.0}, median {record.MedianEventsPerSecond / 1e6:0.0}), {bytes:0.###} B/event");
        return 0;
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
