using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EventDaemon.LoadGen.Generation;
using EventDaemon.LoadGen.Measurement;
using EventDaemon.LoadGen.Receiving;
using EventDaemon.LoadGen.Sending;
using HdrHistogram;

namespace EventDaemon.LoadGen.Bench;

/// <summary>
/// The whole end-to-end benchmark in one process: starts the floors, eventd and the baseline in
/// turn, drives each with the same generator, reads each one's counters, and leaves a report.
/// </summary>
/// <remarks>
/// Order: (1) throughput floors, (2) eventd's throughput pipeline flat out for JSON and binary,
/// then the steady-state zero-GC run on the same process, (3) the baseline flat out, (4) latency:
/// forwarder floor, eventd (defaults, and with idle_handoff = false) and the baseline all started, and at each
/// rate run one after the other — at the fixed target rates for several rounds, merged — so that a
/// burst of noise from the shared machine is not pinned on one of them. Only one system
/// receives traffic at a time. Throughput is measured where the events arrive (eventd's
/// <c>stats</c>, the floor's and the baseline's counter lines) over a window after the warm-up, not
/// from what the sender managed to push into socket buffers.
/// </remarks>
internal sealed class E2eBench(E2eOptions options)
{
    private readonly List<ThroughputResult> _throughput = [];
    private readonly List<LatencyResult> _latency = [];
    private readonly string _dataDir = Path.Combine(options.OutputDirectory, "latency");
    private DirectoryInfo _tmp = null!;
    private EventPool _json = null!;
    private EventPool _binary = null!;

    public int Run()
    {
        Directory.CreateDirectory(_dataDir);
        _tmp = Directory.CreateTempSubdirectory("eventd-bench-");
        Log($"e2e: {(options.Quick ? "QUICK mode (development numbers only), " : "")}{Machine.Describe()}; work directory {_tmp.FullName}");
        _json = EventPool.Create(options.Shape, EventFormat.Json, options.PoolSize);
        _binary = EventPool.Create(options.Shape, EventFormat.Binary, options.PoolSize);
        Log($"e2e: events: {options.Shape}; JSON {_json.MeanLength:0} B, binary {_binary.MeanLength:0} B on average; {options.Connections} connection(s)");

        ThroughputResult floorJson = FloorThroughput(EventFormat.Json);
        FloorThroughput(EventFormat.Binary);
        (ThroughputResult eventdJson, _, SteadyStateResult steady) = EventdThroughput();
        ThroughputResult baselineJson = BaselineThroughput();
        RunLatency(eventdJson.EventsPerSecond, baselineJson.EventsPerSecond);

        var report = new Report(options, Machine.Describe(), _throughput, _latency, steady);
        List<TargetCheck> targets = report.Evaluate(floorJson, eventdJson, baselineJson);
        string markdown = report.Markdown(targets);
        Console.WriteLine();
        Console.WriteLine(markdown);
        File.WriteAllText(Path.Combine(options.OutputDirectory, "e2e.md"), markdown);
        report.WriteJson(Path.Combine(options.OutputDirectory, "e2e.json"), targets);
        report.WritePlotScript(Path.Combine(options.OutputDirectory, "e2e-latency.gp"), Path.Combine(options.OutputDirectory, "e2e-latency.svg"));
        Log($"e2e: wrote {options.OutputDirectory}/e2e.json, e2e.md, e2e-latency.gp and latency/*.hgrm");

        try
        {
            _tmp.Delete(recursive: true);
        }
        catch (IOException)
        {
        }

        if (steady.GcCollections > 0 || (steady.AllocatedBytesPerEvent >= 0.01 && steady.Seconds >= E2eOptions.SteadyStateMinimum.TotalSeconds))
        {
            Console.Error.WriteLine(
                $"e2e: FAILED: the steady-state run had {steady.GcCollections} GC collection(s) and {steady.AllocatedBytesPerEvent:0.####} allocated bytes per event " +
                "(budget: 0 collections, < 0.01 B/event). Something on eventd's hot path allocates: 'make profile' writes the allocating stacks to artifacts/profile/alloc.txt.");
            return 3;
        }

        if (!steady.ZeroGc)
        {
            Console.Error.WriteLine(
                $"e2e: warning: {steady.AllocatedBytesPerEvent:0.####} allocated bytes per event in a {steady.Seconds:0} s steady state; not enforced below " +
                $"{E2eOptions.SteadyStateMinimum.TotalSeconds:0} s, where reading the counters (tens of KB per read) weighs too much. See artifacts/profile/alloc.txt after 'make profile'.");
        }

        return 0;
    }

    private ThroughputResult FloorThroughput(EventFormat format)
    {
        int port = FreePort();
        string[] args = format == EventFormat.Json
            ? ["count", "--listen", $"127.0.0.1:{port}"]
            : ["count", "--listen", $"127.0.0.1:{port}", "--frames"];
        using ChildProcess floor = ChildProcess.Start("floor", options.Floor, args, Path.Combine(_tmp.FullName, "floor.log"));
        floor.WaitListening(TimeSpan.FromSeconds(10));
        ThroughputResult r = Throughput("floor", format, Target.Parse($"tcp://127.0.0.1:{port}"), () => CounterSample(floor, 0, 1, 2));
        return Add(r);
    }

    private (ThroughputResult Json, ThroughputResult Binary, SteadyStateResult Steady) EventdThroughput()
    {
        int jsonPort = FreePort();
        int binaryPort = FreePort();
        using Daemon daemon = StartDaemon("throughput", Configs.Throughput(_tmp.FullName, jsonPort, binaryPort));
        ThroughputResult json = Add(Throughput("eventd", EventFormat.Json, Target.Parse($"tcp://127.0.0.1:{jsonPort}"), () => DaemonSample(daemon, "json")));
        ThroughputResult binary = Add(Throughput("eventd", EventFormat.Binary, Target.Parse($"tcp://127.0.0.1:{binaryPort}"), () => DaemonSample(daemon, "bin")));
        SteadyStateResult steady = SteadyState(daemon, json.EventsPerSecond * options.SteadyFraction, jsonPort);
        return (json, binary, steady);
    }

    private ThroughputResult BaselineThroughput()
    {
        int port = FreePort();
        using ChildProcess baseline = ChildProcess.Start("baseline", options.Baseline, ["--listen", $"127.0.0.1:{port}"], Path.Combine(_tmp.FullName, "baseline.log"));
        baseline.WaitListening(TimeSpan.FromSeconds(30));
        return Add(Throughput("baseline", EventFormat.Json, Target.Parse($"tcp://127.0.0.1:{port}"), () => BaselineSample(baseline)));
    }

    /// <summary>
    /// Sends flat out for warm-up + measurement and samples the receiver's counters at both ends of
    /// the measurement window: the rate at which it took events, with its sockets and queues full.
    /// </summary>
    private ThroughputResult Throughput(string system, EventFormat format, Target target, Func<Sample> sample)
    {
        long start = Clock.NowNs() + 20_000_000;
        var plan = new SendPlan
        {
            Target = target,
            Pool = format == EventFormat.Json ? _json : _binary,
            Connections = options.Connections,
            StartNs = start,
            Duration = options.ThroughputWarmup + options.ThroughputMeasure + TimeSpan.FromMilliseconds(300),
        };
        (Thread sender, Func<SendResult> sent) = LoadSender.Start(plan);
        (Sample first, Sample last) = Window(start + Nanos(options.ThroughputWarmup), options.ThroughputMeasure, sample);
        sender.Join();
        double seconds = (last.TimeNs - first.TimeNs) / 1e9;
        long events = last.Events - first.Events;
        var r = new ThroughputResult(
            system,
            format == EventFormat.Json ? "JSON" : "binary",
            events / seconds,
            (last.Bytes - first.Bytes) / 1e6 / seconds,
            seconds,
            last.GcCollections - first.GcCollections,
            PerEvent(first, last),
            last.ResidentBytes);
        SendResult s = sent();
        Log($"e2e: throughput {system,-8} {r.Format,-6}: {r.EventsPerSecond,12:N0} events/s {r.MegabytesPerSecond,8:N1} MB/s " +
            $"(sender: {s.EventsPerSecond:N0} events/s{(s.Errors > 0 ? $", {s.Errors} socket errors" : "")})");
        return r;
    }

    /// <summary>
    /// The zero-GC run: eventd's throughput pipeline held at a fixed rate on one connection, its
    /// counters read once after a warm-up and once at the end (connection set-up is not steady state).
    /// </summary>
    private SteadyStateResult SteadyState(Daemon daemon, double rate, int jsonPort)
    {
        Log($"e2e: steady state: {rate:N0} events/s for {options.SteadyState.TotalSeconds:0} s through TCP → filter → aggregate → blackhole ...");

        // Let what the flat-out runs left in flight settle first.
        Thread.Sleep(1000);
        long start = Clock.NowNs() + 20_000_000;
        TimeSpan warmup = TimeSpan.FromSeconds(2);
        var plan = new SendPlan
        {
            Target = Target.Parse($"tcp://127.0.0.1:{jsonPort}"),
            Pool = _json,
            Connections = options.Connections,
            Rate = rate,
            StartNs = start,
            Duration = warmup + options.SteadyState + TimeSpan.FromMilliseconds(300),
        };
        (Thread sender, Func<SendResult> sent) = LoadSender.Start(plan);
        (Sample first, Sample last) = Window(start + Nanos(warmup), options.SteadyState, () => DaemonSample(daemon, "json"));
        sender.Join();
        DaemonStats after = daemon.Stats();
        long events = last.Events - first.Events;
        var r = new SteadyStateResult(
            rate,
            (last.TimeNs - first.TimeNs) / 1e9,
            events,
            last.GcCollections - first.GcCollections,
            Allocated(first, last),
            last.AllocatedBytes - first.AllocatedBytes,
            first.ObserverBytes * last.Reads,
            after.ResidentBytes,
            after.LockedBytes,
            (64L << 20) + (Configs.RingSize * Configs.SlotBytes) + Configs.ArenaBytes);
        SendResult s = sent();
        Log($"e2e: steady state: {events:N0} events ({s.EventsPerSecond:N0}/s sent, sender at most {s.MaxLagNs / 1e6:0.0} ms behind), " +
            $"{r.GcCollections} GC collections, {r.AllocatedBytes:N0} B allocated = {r.AllocatedBytesPerEvent:0.#####} B/event " +
            $"(raw {r.RawAllocatedBytes:N0} B less {r.StatsReadBytes:N0} B for reading stats), " +
            $"RSS {r.ResidentBytes / 1048576.0:0.0} MiB, locked {r.LockedBytes / 1048576.0:0.0} MiB");
        return r;
    }

    private void RunLatency(double eventdMax, double baselineMax)
    {
        var rates = new List<(double Rate, string Label)>();
        foreach (double f in options.Fractions)
        {
            rates.Add((Math.Round(eventdMax * f / 1000) * 1000, $"{f * 100:0}% of max"));
        }

        foreach (double r in options.AbsoluteRates)
        {
            rates.Add((r, $"{r / 1000:0}k/s"));
        }

        rates.Sort((a, b) => a.Rate.CompareTo(b.Rate));
        using var listener = new ReturnListener(new IPEndPoint(IPAddress.Loopback, 0));
        string back = $"127.0.0.1:{listener.EndPoint.Port}";

        int forwardPort = FreePort();
        using ChildProcess forwarder = ChildProcess.Start("forwarder", options.Floor, ["forward", "--listen", $"127.0.0.1:{forwardPort}", "--to", back], Path.Combine(_tmp.FullName, "forwarder.log"));
        forwarder.WaitListening(TimeSpan.FromSeconds(10));

        int eventdPort = FreePort();
        string latencyDir = Path.Combine(_tmp.FullName, "latency");
        Directory.CreateDirectory(latencyDir);
        using Daemon daemon = StartDaemon("latency", Configs.Latency(latencyDir, eventdPort, listener.EndPoint.Port), latencyDir);

        // The same pipeline with idle_handoff = false, at the fixed rates, for comparison: every
        // event then wakes the chain's thread. Parked, it costs nothing.
        int noHandoffPort = FreePort();
        string noHandoffDir = Path.Combine(_tmp.FullName, "latency-no-handoff");
        Directory.CreateDirectory(noHandoffDir);
        using Daemon noHandoff = StartDaemon("latency-no-handoff", Configs.Latency(noHandoffDir, noHandoffPort, listener.EndPoint.Port, idleHandoff: false), noHandoffDir);

        int baselinePort = FreePort();
        using ChildProcess baseline = ChildProcess.Start("baseline", options.Baseline, ["--listen", $"127.0.0.1:{baselinePort}", "--return", back], Path.Combine(_tmp.FullName, "baseline-latency.log"));
        baseline.WaitListening(TimeSpan.FromSeconds(30));

        foreach ((double rate, string label) in rates)
        {
            bool fixedRate = options.AbsoluteRates.Contains(rate);
            var runs = new List<LatencyRun>
            {
                new("floor", Target.Parse($"tcp://127.0.0.1:{forwardPort}"), null),
                new("eventd", Target.Parse($"tcp://127.0.0.1:{eventdPort}"), () => DaemonSample(daemon, "json")),
            };
            if (fixedRate)
            {
                runs.Add(new(Report.NoHandoffSystem, Target.Parse($"tcp://127.0.0.1:{noHandoffPort}"), () => DaemonSample(noHandoff, "json")));
            }

            if (rate <= baselineMax)
            {
                runs.Add(new("baseline", Target.Parse($"tcp://127.0.0.1:{baselinePort}"), () => BaselineSample(baseline)));
            }
            else
            {
                Log($"e2e: latency baseline at {rate:N0}/s skipped: above its measured maximum of {baselineMax:N0}/s");
            }

            // At the target rates the systems take turns for several rounds and each one's rounds
            // are merged: a noisy second of the shared VM then falls on all of them alike, not on
            // whichever happened to run in it.
            int rounds = fixedRate ? options.LatencyRounds : 1;
            for (int round = 0; round < rounds; round++)
            {
                foreach (LatencyRun run in runs)
                {
                    Measure(run, rate, listener);
                }
            }

            foreach (LatencyRun run in runs)
            {
                _latency.Add(Finish(run, rate, label, rounds));
            }
        }
    }

    /// <summary>One system's latency rounds at one rate, merged.</summary>
    private sealed class LatencyRun(string system, Target target, Func<Sample>? sample)
    {
        public string System { get; } = system;

        public Target Target { get; } = target;

        public Func<Sample>? Sample { get; } = sample;

        public HistogramBase? Merged;
        public long Sent;
        public long Returned;
        public double SentSeconds;
        public long MaxLagNs;
        public long? GcCollections;
        public long AllocatedBytes;
        public long SampledEvents;
    }

    private void Measure(LatencyRun run, double rate, ReturnListener listener)
    {
        long start = Clock.NowNs() + 20_000_000;
        long measureFrom = start + Nanos(options.LatencyWarmup);
        var plan = new SendPlan
        {
            Target = run.Target,
            Pool = _json,
            Connections = options.Connections,
            Rate = rate,
            StartNs = start,
            Duration = options.LatencyWarmup + options.LatencyMeasure,
        };
        listener.Begin(start, measureFrom);
        (Thread sender, Func<SendResult> result) = LoadSender.Start(plan);
        Sample? first = null;
        Sample? last = null;
        if (run.Sample is not null)
        {
            (first, last) = Window(measureFrom, options.LatencyMeasure, run.Sample);
        }

        sender.Join();
        SendResult sent = result();
        bool complete = listener.WaitFor(sent.Events, TimeSpan.FromSeconds(10));
        HistogramBase h = listener.End();
        if (run.Merged is null)
        {
            run.Merged = h.Copy();
        }
        else
        {
            run.Merged.Add(h);
        }

        run.Sent += sent.Events;
        run.Returned += listener.Lines;
        run.SentSeconds += sent.Events / Math.Max(1, sent.EventsPerSecond);
        run.MaxLagNs = Math.Max(run.MaxLagNs, sent.MaxLagNs);
        if (first is { } f && last is { } l)
        {
            run.GcCollections = (run.GcCollections ?? 0) + (l.GcCollections - f.GcCollections);
            run.AllocatedBytes += Allocated(f, l);
            run.SampledEvents += l.Events - f.Events;
        }

        Log($"e2e: latency {run.System,-14} {rate,9:N0}/s: p50 {Us(h.GetValueAtPercentile(50)),8} p99 {Us(h.GetValueAtPercentile(99)),8} max {Us(h.GetMaxValue()),8} µs" +
            $"{(complete ? "" : $"; only {listener.Lines:N0} of {sent.Events:N0} came back")}{(listener.Unparsed > 0 ? $"; {listener.Unparsed} lines without ts" : "")}");
    }

    private LatencyResult Finish(LatencyRun run, double rate, string label, int rounds)
    {
        HistogramBase h = run.Merged!;
        double? perEvent = run.GcCollections is null ? null : run.SampledEvents <= 0 ? double.NaN : (double)run.AllocatedBytes / run.SampledEvents;
        string file = $"{run.System}-{rate:0}";
        Report.WriteHistogram(Path.Combine(_dataDir, file), h);
        var r = new LatencyResult(
            run.System,
            label,
            rate,
            run.Sent / Math.Max(1e-9, run.SentSeconds),
            run.Sent,
            run.Returned,
            h.TotalCount,
            h.GetValueAtPercentile(50),
            h.GetValueAtPercentile(90),
            h.GetValueAtPercentile(99),
            h.GetValueAtPercentile(99.9),
            h.GetValueAtPercentile(99.99),
            h.GetMaxValue(),
            run.MaxLagNs,
            run.GcCollections,
            perEvent,
            $"latency/{file}.dat");
        Log($"e2e: latency {run.System,-14} {rate,9:N0}/s over {rounds} round(s): p50 {Us(r.P50),8} p90 {Us(r.P90),8} p99 {Us(r.P99),8} p99.9 {Us(r.P999),8} max {Us(r.Max),8} µs" +
            $"{(run.Returned < run.Sent ? $"; only {run.Returned:N0} of {run.Sent:N0} came back" : "")}" +
            $"{(r.GcCollections is null ? "" : $"; {r.GcCollections} GCs, {perEvent:0.###} B/event")}");
        return r;
    }

    /// <summary>Samples at <paramref name="fromNs"/> and <paramref name="length"/> after that sample.</summary>
    private static (Sample First, Sample Last) Window(long fromNs, TimeSpan length, Func<Sample> sample)
    {
        Clock.SleepUntil(fromNs);
        Sample first = sample();
        Clock.SleepUntil(first.TimeNs + Nanos(length));
        return (first, sample());
    }

    /// <summary>
    /// Bytes the process allocated between two samples, less what reading its counters cost it: the
    /// rest of the first sample's last read plus every read of the second one up to its last is
    /// <c>last.Reads</c> reads' worth.
    /// </summary>
    private static long Allocated(Sample first, Sample last) => Math.Max(0, last.AllocatedBytes - first.AllocatedBytes - (first.ObserverBytes * last.Reads));

    private static double PerEvent(Sample first, Sample last)
    {
        long events = last.Events - first.Events;
        return events <= 0 ? double.NaN : (double)Allocated(first, last) / events;
    }

    private Daemon StartDaemon(string name, string config, string? dir = null)
    {
        dir ??= _tmp.FullName;
        string path = Path.Combine(dir, name + ".toml");
        File.WriteAllText(path, config);
        var process = ChildProcess.Start("eventd", options.Eventd, ["run", "--config", path], Path.Combine(_tmp.FullName, $"eventd-{name}.log"));
        var daemon = new Daemon(process, Path.Combine(dir, "ctl.sock"));
        long deadline = Clock.NowNs() + 15_000_000_000;
        while (DaemonStats.TryRead(daemon.Socket) is null)
        {
            if (process.HasExited || Clock.NowNs() > deadline)
            {
                string log = File.Exists(process.LogPath) ? File.ReadAllText(process.LogPath) : "";
                daemon.Dispose();
                throw new InvalidOperationException($"eventd ({name}) did not come up; its log:\n{log}");
            }

            Thread.Sleep(20);
        }

        return daemon;
    }

    /// <summary>
    /// Three <c>stats</c> calls back to back: the last is the sample, and half the allocation across
    /// the other two is what one call costs the daemon (its reply is built on the managed heap, and
    /// the counter moves in steps of a thread's allocation context), so that the harness does not
    /// charge its own reading to the pipeline.
    /// </summary>
    private static Sample DaemonSample(Daemon daemon, string source)
    {
        DaemonStats c1 = daemon.Stats();
        daemon.Stats();
        DaemonStats s = daemon.Stats();
        return new Sample(s.TimeNs, s.Received(source), s.BytesReceived(source), s.GcCollections, s.AllocatedBytes, s.ResidentBytes, (s.AllocatedBytes - c1.AllocatedBytes) / 2, 3);
    }

    /// <summary>Baseline counter line: t, received, bytes, passed, windows, written, gc0, gc1, gc2, allocated, rss.</summary>
    private static Sample BaselineSample(ChildProcess p)
    {
        long[] s = p.NextSample(TimeSpan.FromSeconds(5));
        return new Sample(s[0], s[1], s[2], s[6] + s[7] + s[8], s[9], s[10], 0, 0);
    }

    private static Sample CounterSample(ChildProcess p, int time, int events, int bytes)
    {
        long[] s = p.NextSample(TimeSpan.FromSeconds(5));
        return new Sample(s[time], s[events], s[bytes], 0, 0, 0, 0, 0);
    }

    private ThroughputResult Add(ThroughputResult r)
    {
        _throughput.Add(r);
        return r;
    }

    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    private static long Nanos(TimeSpan t) => (long)(t.TotalSeconds * 1e9);

    private static string Us(long ns) => (ns / 1000.0).ToString("N0", CultureInfo.InvariantCulture);

    private static void Log(string message)
    {
        Console.WriteLine(message);
        Console.Out.Flush();
    }

    /// <param name="ObserverBytes">What one read of the counters allocates in the process (0 where reading costs it nothing).</param>
    /// <param name="Reads">Reads this sample made.</param>
    private readonly record struct Sample(long TimeNs, long Events, long Bytes, long GcCollections, long AllocatedBytes, long ResidentBytes, long ObserverBytes, int Reads);

    private sealed class Daemon(ChildProcess process, string socket) : IDisposable
    {
        public string Socket { get; } = socket;

        public DaemonStats Stats() => DaemonStats.Read(Socket);

        public void Dispose()
        {
            process.Stop(TimeSpan.FromSeconds(15));
            process.Dispose();
        }
    }
}
