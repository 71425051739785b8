using System.Globalization;
using System.Net;
using EventDaemon.LoadGen.Bench;
using EventDaemon.LoadGen.Generation;
using EventDaemon.LoadGen.Measurement;
using EventDaemon.LoadGen.Receiving;
using EventDaemon.LoadGen.Sending;
using HdrHistogram;

namespace EventDaemon.LoadGen;

/// <summary>
/// eventd's load generator. <c>send</c> drives any source (JSON lines or binary frames over TCP,
/// UDP or a Unix socket) flat out or at a fixed rate, optionally timing the events a sink sends
/// back; <c>e2e</c> is the whole end-to-end benchmark behind <c>make bench-e2e</c>.
/// </summary>
public static class Program
{
    private const string Usage = """
        usage:
          eventd-loadgen send --to tcp://HOST:PORT|udp://HOST:PORT|unix:///PATH [options]
              --format json|binary     (json)
              --connections N          (1)
              --rate EVENTS_PER_S      (0 = flat out)
              --duration SECONDS       (5)
              --warmup SECONDS         (1; latency of events intended before it is not recorded)
              --return HOST:PORT       listen here for the events a tcp sink sends back and print
                                       send → return latency percentiles (needs --rate)
              --hgrm FILE              write the latency percentile distribution (HdrHistogram format)
              --acks                   binary frames with ack_requested through EventClient; prints the
                                       ack latency (frame appended → ack read) percentiles
              --pace-us N              with --acks and --rate: write every N µs the frames that fell due,
                                       waiting on the socket for acks between writes (0 = frame by
                                       frame, sleeping to each one's due time; the default)
              --keys N --types name:weight,... --size BYTES --pool N   event shape
              --workload per-key|per-key-1m|by-type|binary   the events (and format) of a bench-e2e row
          eventd-loadgen e2e --eventd PATH --baseline PATH --floor PATH [--out DIR] [--quick]
              [--steady SECONDS] [--connections N (2)] [--agg-threads N] [--rounds N (1)] [--journal-recycle]
              [--ack-paces 0,100 (µs; one acks row each, 0 = frame by frame)]
              [--workloads per-key,per-key-journal,per-key-1m,by-type,binary,latency,steady,acks (all)]
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            var a = new Arguments(args.AsSpan(1).ToArray());
            return args[0] switch
            {
                "send" => Send(a),
                "e2e" => E2e(a),
                _ => throw new ArgumentException($"unknown command '{args[0]}'"),
            };
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"eventd-loadgen: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            Console.Error.WriteLine($"eventd-loadgen: {e.Message}");
            return 1;
        }
    }

    private static EventShape Shape(Arguments a) => new()
    {
        Types = EventShape.ParseTypes(a.String("--types", EventShape.DefaultTypes)),
        KeyCardinality = a.Int("--keys", 100_000),
        MeanSize = a.Int("--size", 160),
    };

    private static int Send(Arguments a)
    {
        var target = Target.Parse(a.Required("--to"));
        Workload? workload = a.Optional("--workload") is string name ? Workloads.Get(name) : null;
        EventFormat format = a.String("--format", workload?.Format == EventFormat.Binary ? "binary" : "json") switch
        {
            "json" => EventFormat.Json,
            "binary" => EventFormat.Binary,
            string f => throw new ArgumentException($"--format {f}: json or binary"),
        };
        EventShape shape = workload?.Shape ?? Shape(a);
        EventPool pool = EventPool.Create(shape, format, a.Int("--pool", workload?.PoolSize ?? 65_536));
        double rate = a.Double("--rate", 0);
        double warmup = a.Double("--warmup", 1);
        bool acks = a.Flag("--acks");
        if (acks && format != EventFormat.Binary)
        {
            throw new ArgumentException("--acks needs --format binary: only binary frames carry ack_requested");
        }
        long paceMicros = a.Optional("--pace-us") is string p ? long.Parse(p, CultureInfo.InvariantCulture) : 0;
        if (paceMicros != 0 && (!acks || rate <= 0 || paceMicros < 0))
        {
            throw new ArgumentException("--pace-us needs --acks and --rate, and a pace of 0 µs or more");
        }

        string? back = a.Optional("--return");
        string? hgrm = a.Optional("--hgrm");
        if (back is not null && rate <= 0)
        {
            throw new ArgumentException("--return needs --rate: latency flat out measures queueing, not the system");
        }

        // A little ahead, so that connecting (and binding the return listener) is not charged to the first events.
        long start = Clock.NowNs() + 20_000_000;
        var plan = new SendPlan
        {
            Target = target,
            Pool = pool,
            Connections = a.Int("--connections", 1),
            Rate = rate,
            Duration = TimeSpan.FromSeconds(a.Double("--duration", 5)),
            StartNs = start,
            Acks = acks,
            AckPaceNs = paceMicros * 1000,
            WarmupSeconds = warmup,
        };
        a.ThrowIfUnused();
        Console.WriteLine($"sending {(format == EventFormat.Json ? "JSON lines" : "binary frames")} to {target}: {shape}; {pool.MeanLength:0} B/event; {plan.Connections} connection(s), " +
            $"{(rate > 0 ? $"{rate:N0} events/s" : "flat out")} for {plan.Duration.TotalSeconds:0.#} s" +
            $"{(acks && rate > 0 ? paceMicros > 0 ? $", a write every {paceMicros} µs" : ", frame by frame" : "")}");

        using ReturnListener? listener = back is null ? null : new ReturnListener(Target.ParseIp(back));
        listener?.Begin(start, start + (long)(warmup * 1e9));
        SendResult sent = LoadSender.Run(plan);
        Console.WriteLine($"sent {sent.Events:N0} events, {sent.Bytes / 1e6:N1} MB in {sent.Seconds:0.00} s: {sent.EventsPerSecond:N0} events/s, " +
            $"{sent.MegabytesPerSecond:N1} MB/s{(rate > 0 ? $"; sender at most {sent.MaxLagNs / 1e6:0.000} ms behind schedule" : "")}" +
            $"{(sent.Errors > 0 ? $"; {sent.Errors} socket errors" : "")}");
        if (sent.AckLatency is { } ack)
        {
            Console.WriteLine($"acknowledged {sent.Acknowledged:N0} of {sent.Events:N0} frames ({sent.Unacknowledged:N0} unsettled at the end); " +
                $"ack latency after {warmup:0.#} s of warm-up, µs (frame appended → ack read):");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  p50 {ack.GetValueAtPercentile(50) / 1e3:N1}  p90 {ack.GetValueAtPercentile(90) / 1e3:N1}  p99 {ack.GetValueAtPercentile(99) / 1e3:N1}  " +
                $"p99.9 {ack.GetValueAtPercentile(99.9) / 1e3:N1}  max {ack.GetMaxValue() / 1e3:N1}  (n = {ack.TotalCount:N0})"));
        }

        if (listener is null)
        {
            return sent.Errors > 0 ? 1 : 0;
        }

        bool complete = listener.WaitFor(sent.Events, TimeSpan.FromSeconds(10));
        HistogramBase h = listener.End();
        Console.WriteLine($"returned {listener.Lines:N0} of {sent.Events:N0}{(complete ? "" : " (timed out waiting for the rest)")}; " +
            $"latency after {warmup:0.#} s of warm-up, µs (coordinated omission corrected):");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  p50 {h.GetValueAtPercentile(50) / 1e3:N1}  p90 {h.GetValueAtPercentile(90) / 1e3:N1}  p99 {h.GetValueAtPercentile(99) / 1e3:N1}  " +
            $"p99.9 {h.GetValueAtPercentile(99.9) / 1e3:N1}  p99.99 {h.GetValueAtPercentile(99.99) / 1e3:N1}  max {h.GetMaxValue() / 1e3:N1}  (n = {h.TotalCount:N0})"));
        if (hgrm is not null)
        {
            using var w = new StreamWriter(hgrm);
            h.OutputPercentileDistribution(w, 5, 1000.0);
        }

        return complete ? 0 : 1;
    }

    private static int E2e(Arguments a)
    {
        bool quick = a.Flag("--quick");
        string[] all = [.. Workloads.All, Workloads.Latency, Workloads.Steady, Workloads.Acks];
        string[] selected = a.String("--workloads", string.Join(',', all)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string w in selected)
        {
            if (!all.Contains(w))
            {
                throw new ArgumentException($"--workloads: unknown '{w}' (choose from {string.Join(", ", all)})");
            }
        }

        if (selected.Length == 0)
        {
            throw new ArgumentException($"--workloads: nothing to run (choose from {string.Join(", ", all)})");
        }

        var options = new E2eOptions
        {
            Eventd = a.Required("--eventd"),
            Baseline = a.Required("--baseline"),
            Floor = a.Required("--floor"),
            OutputDirectory = a.String("--out", "artifacts/bench"),
            Quick = quick,
            Workloads = selected,
            AggregateThreads = a.Optional("--agg-threads") is string t ? int.Parse(t, CultureInfo.InvariantCulture) : null,
            Connections = a.Int("--connections", 2),
            Rounds = Math.Max(1, a.Int("--rounds", 1)),
            JournalRecycling = a.Flag("--journal-recycle"),
            AckPacesMicros = a.Optional("--ack-paces") is string paces ? ParsePaces(paces) : [0, 100],
            SteadyState = TimeSpan.FromSeconds(a.Double("--steady", quick ? 10 : 60)),
        };
        a.ThrowIfUnused();
        return new E2eBench(options).Run();
    }

    /// <summary><c>--ack-paces 0,100</c>: distinct pacings in µs, in the order given.</summary>
    private static long[] ParsePaces(string list)
    {
        long[] paces = [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => long.Parse(p, CultureInfo.InvariantCulture)).Distinct()];
        if (paces.Length == 0 || paces.Any(p => p < 0))
        {
            throw new ArgumentException($"--ack-paces {list}: one or more pacings in µs, 0 or more (0 = frame by frame)");
        }

        return paces;
    }

    /// <summary><c>--name value</c> pairs and <c>--flag</c>s; anything not asked for is an error.</summary>
    private sealed class Arguments
    {
        private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
        private readonly HashSet<string> _used = new(StringComparer.Ordinal);

        public Arguments(string[] args)
        {
            for (int i = 0; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"unexpected '{args[i]}'");
                }

                bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                _values[args[i]] = hasValue ? args[++i] : null;
            }
        }

        public string Required(string name) => Optional(name) ?? throw new ArgumentException($"{name} is required");

        public string? Optional(string name)
        {
            _used.Add(name);
            return _values.GetValueOrDefault(name);
        }

        public string String(string name, string fallback) => Optional(name) ?? fallback;

        public int Int(string name, int fallback) => Optional(name) is string s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

        public double Double(string name, double fallback) => Optional(name) is string s ? double.Parse(s, CultureInfo.InvariantCulture) : fallback;

        public bool Flag(string name)
        {
            _used.Add(name);
            return _values.ContainsKey(name);
        }

        public void ThrowIfUnused()
        {
            foreach (string name in _values.Keys)
            {
                if (!_used.Contains(name))
                {
                    throw new ArgumentException($"unknown option {name}");
                }
            }
        }
    }
}
