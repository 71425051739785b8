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
/// turn, drives each with the same generator, reads each one's counters and CPU time, and leaves a
/// report.
/// </summary>
/// <remarks>
/// Order: (1) the throughput matrix, row by row (<see cref="Workloads"/>): the line-count floor on
/// the row's events, eventd on the row's generated config flat out (then, on the same daemon, the
/// steady-state zero-GC run when the row carries it), the baseline doing the same work; (2)
/// latency: forwarder floor, eventd (defaults, and with idle_handoff = false) and the baseline all
/// started, and at each rate run one after the other — at the fixed target rates for several
/// rounds, merged — so that a burst of noise from the shared machine is not pinned on one of them.
/// Only one system receives traffic at a time. Throughput is measured where the events arrive
/// (eventd's <c>stats</c>, the floor's and the baseline's counter lines) over a window after the
/// warm-up, not from what the sender managed to push into socket buffers. A part that cannot run,
/// or whose numbers would not be its workload's, fails with its reason and the run exits non-zero.
/// </remarks>
internal sealed class E2eBench(E2eOptions options)
{
    /// <summary>How far the measured filter pass share may stray from the shape's before the row is refused as not the workload it says.</summary>
    private const double PassTolerance = 0.05;

    /// <summary>
    /// Warm-up of the recycling journal row: at the per-key rate with the journal (~180 MB/s of
    /// records) the nine zeroed 64 MiB segments fill in about three and a half seconds, and the tenth
    /// is the first recycled one.
    /// </summary>
    private const double RecyclingWarmupSeconds = 8;

    private readonly List<WorkloadResult> _rows = [];
    private readonly List<LatencyResult> _latency = [];
    private readonly List<string> _failures = [];
    private readonly Dictionary<string, EventPool> _pools = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ThroughputResult> _floors = new(StringComparer.Ordinal);
    private readonly string _dataDir = Path.Combine(options.OutputDirectory, "latency");
    private DirectoryInfo _tmp = null!;
    private EventPool _latencyPool = null!;
    private SteadyStateResult? _steady;
    private readonly List<AckResult> _acks = [];
    private string? _latencyBasis;

    public int Run()
    {
        Directory.CreateDirectory(_dataDir);
        _tmp = Directory.CreateTempSubdirectory("eventd-bench-");
        Log($"e2e: {(options.Quick ? "QUICK mode (development numbers only), " : "")}{Machine.Describe()}; work directory {_tmp.FullName}");
        Log($"e2e: running {string.Join(", ", options.Workloads)}{(options.AggregateThreads is int t ? $"; aggregate threads = {t}" : "")}");

        var rows = Workloads.All.Where(options.Workloads.Contains).Select(Workloads.Get)
            .Select(w => w.Journal && options.JournalRecycling ? w with { JournalRecycling = true, WarmupSeconds = RecyclingWarmupSeconds } : w).ToList();
        string? steadyOn = !options.Workloads.Contains(Workloads.Steady) ? null
            : rows.Any(r => r.Name == Workloads.PerKey) ? Workloads.PerKey
            : rows.FirstOrDefault()?.Name;
        if (options.Workloads.Contains(Workloads.Steady) && steadyOn is null)
        {
            Fail("steady", "the steady state runs on a throughput workload's daemon: add per-key (or another row) to the workloads");
        }

        foreach (Workload w in rows)
        {
            _rows.Add(RunWorkload(w, steady: w.Name == steadyOn));
        }

        if (options.Workloads.Contains(Workloads.Latency))
        {
            RunLatencySection();
        }

        if (options.Workloads.Contains(Workloads.Acks))
        {
            // The pacings take turns in each round, as the systems of a throughput row do, so that
            // a slow spell of the shared machine or its disk falls on all of them alike.
            for (int round = 1; round <= options.Rounds; round++)
            {
                foreach (long pace in options.AckPacesMicros)
                {
                    string row = Workloads.AckRow(pace) + (round > 1 ? $" (round {round})" : "");
                    try
                    {
                        _acks.Add(RunAcks(pace, round));
                    }
                    catch (Exception e) when (e is WorkloadFailedException or InvalidOperationException or IOException or SocketException)
                    {
                        Fail(row, e.Message);
                    }
                }
            }
        }

        var report = new Report(options, Machine.Describe(), _rows, _latency, _steady, _latencyBasis) { Acks = _acks };
        List<TargetCheck> targets = report.Evaluate();
        string markdown = report.Markdown(targets, _failures);
        Console.WriteLine();
        Console.WriteLine(markdown);
        File.WriteAllText(Path.Combine(options.OutputDirectory, "e2e.md"), markdown);
        report.WriteJson(Path.Combine(options.OutputDirectory, "e2e.json"), targets, _failures);
        if (_latency.Count > 0)
        {
            report.WritePlotScript(Path.Combine(options.OutputDirectory, "e2e-latency.gp"), Path.Combine(options.OutputDirectory, "e2e-latency.svg"));
        }
        else
        {
            File.Delete(Path.Combine(options.OutputDirectory, "e2e-latency.gp"));
        }

        Log($"e2e: wrote {options.OutputDirectory}/e2e.json, e2e.md{(_latency.Count > 0 ? ", e2e-latency.gp and latency/*.hgrm" : "")}");

        try
        {
            _tmp.Delete(recursive: true);
        }
        catch (IOException)
        {
        }

        int status = 0;
        if (_failures.Count > 0)
        {
            foreach (string f in _failures)
            {
                Console.Error.WriteLine($"e2e: FAILED: {f}");
            }

            Console.Error.WriteLine($"e2e: FAILED: {_failures.Count} part(s) of the benchmark could not run; their rows carry no numbers (see above).");
            status = 4;
        }

        if (_steady is { } steady)
        {
            if (steady.GcCollections > 0 || (steady.AllocatedBytesPerEvent >= 0.01 && steady.Seconds >= E2eOptions.SteadyStateMinimum.TotalSeconds))
            {
                Console.Error.WriteLine(
                    $"e2e: FAILED: the steady-state run ({steady.Workload}) had {steady.GcCollections} GC collection(s) and {steady.AllocatedBytesPerEvent:0.####} allocated bytes per event " +
                    "(budget: 0 collections, < 0.01 B/event). Something on eventd's hot path allocates: 'make profile' writes the allocating stacks to artifacts/profile/alloc.txt.");
                return 3;
            }

            if (!steady.ZeroGc)
            {
                Console.Error.WriteLine(
                    $"e2e: warning: {steady.AllocatedBytesPerEvent:0.####} allocated bytes per event in a {steady.Seconds:0} s steady state; not enforced below " +
                    $"{E2eOptions.SteadyStateMinimum.TotalSeconds:0} s, where reading the counters (tens of KB per read) weighs too much. See artifacts/profile/alloc.txt after 'make profile'.");
            }
        }

        return status;
    }

    private void Fail(string part, string reason)
    {
        string line = $"{part}: {OneLine(reason)}";
        _failures.Add(line);
        Console.Error.WriteLine($"e2e: FAILED: {line}");
    }

    /// <summary>
    /// One row: the floor on the row's events (once per set of events), eventd flat out (then, on
    /// the same daemon, the steady state when this row carries it), and the baseline. A part that
    /// cannot run fails the row with its reason; the others still run.
    /// </summary>
    private WorkloadResult RunWorkload(Workload w, bool steady)
    {
        Log($"e2e: workload {w.Name}: {w.Describe(options.Connections)}");
        ThroughputResult? floor = null;
        ThroughputResult? eventd = null;
        ThroughputResult? baseline = null;
        var reasons = new List<string>();
        EventPool pool;
        try
        {
            pool = Pool(w);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            Fail(w.Name, $"events could not be generated: {e.Message}");
            return new WorkloadResult(w, null, null, null, e.Message);
        }

        void Try(string part, Action run)
        {
            try
            {
                run();
            }
            catch (Exception e) when (e is WorkloadFailedException or InvalidOperationException or IOException or SocketException or System.Text.Json.JsonException)
            {
                string reason = $"{part}: {OneLine(e.Message)}";
                reasons.Add(reason);
                Fail(w.Name, reason);
            }
        }

        // Rounds take turns (floor, eventd, baseline, floor, ...) so that a slow spell of the shared
        // machine falls on all three alike; each system keeps its best round, since noise here only
        // ever takes throughput away.
        string id = $"{w.Format}|{w.Shape}|{w.PoolSize}";
        bool floorKnown = _floors.TryGetValue(id, out ThroughputResult? known);
        if (floorKnown)
        {
            Log($"e2e: throughput {w.Name}: floor: the same events as an earlier row: {known!.EventsPerSecond:N0} events/s");
        }

        var floors = new List<ThroughputResult>();
        var eventds = new List<ThroughputResult>();
        var baselines = new List<ThroughputResult>();
        for (int round = 0; round < options.Rounds; round++)
        {
            if (!floorKnown)
            {
                Try("floor", () => floors.Add(Floor(w, pool)));
            }

            bool steadyHere = steady && round == 0;
            Try("eventd", () => eventds.Add(Eventd(w, pool, steadyHere)));
            if (!w.Journal)
            {
                // The baseline keeps nothing on disk: beside a journaled eventd it would compare nothing.
                Try("baseline", () => baselines.Add(Baseline(w, pool)));
            }
        }

        floor = floorKnown ? known! with { Workload = w.Name } : Best(floors);
        if (!floorKnown && floor is not null && floors.Count == options.Rounds)
        {
            _floors[id] = floor;
        }

        eventd = Best(eventds);
        baseline = Best(baselines);
        return new WorkloadResult(w, floor, eventd, baseline, reasons.Count == 0 ? null : string.Join("; ", reasons));
    }

    /// <summary>The round with the most events/s, carrying every round's rate; null when none ran.</summary>
    private static ThroughputResult? Best(List<ThroughputResult> rounds) =>
        rounds.Count == 0 ? null : rounds.MaxBy(r => r.EventsPerSecond)! with { RoundRates = [.. rounds.Select(r => r.EventsPerSecond)] };

    /// <summary>The row's events, rendered once and shared by the rows that send the same ones.</summary>
    private EventPool Pool(Workload w)
    {
        string id = $"{w.Format}|{w.Shape}|{w.PoolSize}";
        if (!_pools.TryGetValue(id, out EventPool? pool))
        {
            pool = EventPool.Create(w.Shape, w.Format, w.PoolSize);
            _pools[id] = pool;
            Log($"e2e: {w.Name}: {pool.Count:N0} {(w.Format == EventFormat.Json ? "JSON lines" : "binary frames")} of {pool.MeanLength:0.0} B on average");
        }

        return pool;
    }

    private ThroughputResult Floor(Workload w, EventPool pool)
    {
        int port = FreePort();
        string[] args = w.Format == EventFormat.Json
            ? ["count", "--listen", $"127.0.0.1:{port}"]
            : ["count", "--listen", $"127.0.0.1:{port}", "--frames"];
        using ChildProcess floor = ChildProcess.Start("floor", options.Floor, args, Path.Combine(_tmp.FullName, "floor.log"));
        floor.WaitListening(TimeSpan.FromSeconds(10));
        return Throughput(w, "floor", pool, Target.Parse($"tcp://127.0.0.1:{port}"), () => CounterSample(floor));
    }

    private ThroughputResult Eventd(Workload w, EventPool pool, bool steady)
    {
        int port = FreePort();
        string dir = Path.Combine(_tmp.FullName, w.Name);
        if (Directory.Exists(dir))
        {
            // A later round starts as the first did: with a journal, from an empty one (a journal
            // left by the round before would be replayed before the source binds).
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        using Daemon daemon = StartDaemon(w.Name, Configs.ForWorkload(dir, port, w, options.AggregateThreads), dir);
        ThroughputResult r = Throughput(w, "eventd", pool, Target.Parse($"tcp://127.0.0.1:{port}"), () => DaemonSample(daemon));
        if (steady)
        {
            try
            {
                _steady = SteadyState(w, daemon, pool, r.EventsPerSecond * options.SteadyFraction, port);
            }
            catch (Exception e) when (e is WorkloadFailedException or InvalidOperationException or IOException or SocketException)
            {
                Fail(Workloads.Steady, $"on {w.Name}: {e.Message}");
            }
        }

        return r;
    }

    private ThroughputResult Baseline(Workload w, EventPool pool)
    {
        int port = FreePort();
        string[] args = ["--listen", $"127.0.0.1:{port}", "--pipeline", w.BaselinePipeline, "--format", w.Format == EventFormat.Json ? "json" : "binary"];
        using ChildProcess baseline = ChildProcess.Start("baseline", options.Baseline, args, Path.Combine(_tmp.FullName, $"baseline-{w.Name}.log"));
        baseline.WaitListening(TimeSpan.FromSeconds(30));
        return Throughput(w, "baseline", pool, Target.Parse($"tcp://127.0.0.1:{port}"), () => BaselineSample(baseline));
    }

    /// <summary>
    /// Sends flat out for warm-up + measurement and samples the receiver's counters (and the CPU
    /// time of its process and of the sender's threads) at both ends of the measurement window: the
    /// rate at which it took events, with its sockets and queues full. Refuses a window whose
    /// numbers would not be the workload's: nothing arrived, events rejected or dropped, a filter
    /// that let through another share than the events hold, an aggregate that emitted nothing.
    /// </summary>
    private ThroughputResult Throughput(Workload w, string system, EventPool pool, Target target, Func<Sample> sample)
    {
        long start = Clock.NowNs() + 20_000_000;
        TimeSpan warmup = options.Quick ? TimeSpan.FromSeconds(Math.Min(w.WarmupSeconds, 2)) : TimeSpan.FromSeconds(w.WarmupSeconds);
        var plan = new SendPlan
        {
            Target = target,
            Pool = pool,
            Connections = options.Connections,
            StartNs = start,
            Duration = warmup + options.ThroughputMeasure + TimeSpan.FromMilliseconds(300),
        };
        (Thread sender, Func<SendResult> sent) = LoadSender.Start(plan);
        Sample first;
        Sample last;
        try
        {
            (first, last) = Window(start + Nanos(warmup), options.ThroughputMeasure, sample);
        }
        finally
        {
            sender.Join();
        }

        SendResult s = sent();
        double seconds = (last.TimeNs - first.TimeNs) / 1e9;
        long events = last.Events - first.Events;
        long passed = last.Passed - first.Passed;
        long groups = last.Groups - first.Groups;
        long windows = (Clock.ToUnix(last.TimeNs) / 1_000_000_000) - (Clock.ToUnix(first.TimeNs) / 1_000_000_000);
        double passShare = system == "floor" || events <= 0 ? double.NaN : (double)passed / events;
        double groupsPerWindow = system == "floor" || windows <= 0 ? double.NaN : (double)groups / windows;
        if (s.Errors > 0)
        {
            throw new WorkloadFailedException($"the sender hit {s.Errors} socket error(s): {system} closed or reset the connection");
        }

        if (events <= 0)
        {
            throw new WorkloadFailedException($"no events arrived at {system} in {seconds:0.0} s (sender: {s.EventsPerSecond:N0} events/s)");
        }

        if (last.Rejected - first.Rejected > 0)
        {
            throw new WorkloadFailedException($"{system} rejected or dropped {last.Rejected - first.Rejected:N0} events in the window ({last.RejectedDetail}): the numbers would not be the workload's");
        }

        if (system != "floor")
        {
            if (Math.Abs(passShare - w.ExpectedPass) > PassTolerance)
            {
                throw new WorkloadFailedException(
                    $"{system}'s filter let {passShare * 100:0.0} % of the events through where the events hold ~{w.ExpectedPass * 100:0.0} % that pass `{w.Condition}`: the pipeline is not running the workload");
            }

            if (groups <= 0)
            {
                throw new WorkloadFailedException($"{system}'s aggregate emitted no groups over {seconds:0.0} s ({windows} window boundaries)");
            }
        }

        (double idle, double steal) = first.Machine is null || last.Machine is null ? (double.NaN, double.NaN) : MachineCpu.Between(first.Machine, last.Machine);
        var r = new ThroughputResult(
            w.Name,
            system,
            w.Format == EventFormat.Json ? "JSON" : "binary",
            events / seconds,
            (last.Bytes - first.Bytes) / 1e6 / seconds,
            seconds,
            last.GcCollections - first.GcCollections,
            PerEvent(first, last),
            last.ResidentBytes,
            first.Cpu is null || last.Cpu is null ? CpuUse.None : ProcessCpu.Between(first.Cpu, last.Cpu),
            first.SenderCpu is null || last.SenderCpu is null ? CpuUse.None : ProcessCpu.Between(first.SenderCpu, last.SenderCpu),
            passShare,
            groupsPerWindow,
            idle,
            steal);
        Log($"e2e: throughput {w.Name,-10} {system,-8}: {r.EventsPerSecond,12:N0} events/s {r.MegabytesPerSecond,8:N1} MB/s, " +
            $"{r.Cpu.Cores:0.00} cores = {r.CpuNsPerEvent:N0} CPU-ns/event [{r.Cpu.Top(4)}]" +
            (system == "floor" ? "" : $", passed {passShare * 100:0.0} %, {groupsPerWindow:N0} groups/window, {r.GcCollections} GCs, {r.AllocatedBytesPerEvent:0.###} B/event") +
            $" (sender: {s.EventsPerSecond:N0} events/s, {r.SenderCpu.Cores:0.00} cores; machine idle {idle:0.00}, steal {steal:0.00} cores)");
        return r;
    }

    /// <summary>
    /// The zero-GC run: eventd on <paramref name="w"/> held at a fixed rate, its counters read once
    /// after a warm-up and once at the end (connection set-up is not steady state).
    /// </summary>
    private SteadyStateResult SteadyState(Workload w, Daemon daemon, EventPool pool, double rate, int port)
    {
        Log($"e2e: steady state: {rate:N0} events/s for {options.SteadyState.TotalSeconds:0} s through the {w.Name} pipeline ...");

        // Let what the flat-out run left in flight settle first.
        Thread.Sleep(1000);
        long start = Clock.NowNs() + 20_000_000;
        TimeSpan warmup = TimeSpan.FromSeconds(2);
        var plan = new SendPlan
        {
            Target = Target.Parse($"tcp://127.0.0.1:{port}"),
            Pool = pool,
            Connections = options.Connections,
            Rate = rate,
            StartNs = start,
            Duration = warmup + options.SteadyState + TimeSpan.FromMilliseconds(300),
        };
        (Thread sender, Func<SendResult> sent) = LoadSender.Start(plan);
        Sample first;
        Sample last;
        try
        {
            (first, last) = Window(start + Nanos(warmup), options.SteadyState, () => DaemonSample(daemon));
        }
        finally
        {
            sender.Join();
        }

        DaemonStats after = daemon.Stats();
        long events = last.Events - first.Events;
        if (events <= 0)
        {
            throw new WorkloadFailedException("no events arrived in the steady state");
        }

        var r = new SteadyStateResult(
            w.Name,
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

    /// <summary>
    /// Latency as before, then the fixed target rates; the other rates are fractions of eventd's
    /// maximum on the per-key row (else the first JSON row that ran). Not by-type's: flat out on two
    /// connections it takes more than the latency pipeline can on one, so its 50 % and 80 % points
    /// measured a growing queue (seconds), not latency.
    /// </summary>
    private void RunLatencySection()
    {
        _latencyPool = EventPool.Create(options.LatencyShape, EventFormat.Json, options.PoolSize);
        WorkloadResult? basis = _rows.FirstOrDefault(r => r.Workload.Name == Workloads.PerKey && r.Eventd is not null)
            ?? _rows.FirstOrDefault(r => r.Eventd is not null && r.Workload.Format == EventFormat.Json);
        _latencyBasis = basis?.Workload.Name;
        Log($"e2e: latency: events {options.LatencyShape}, {_latencyPool.MeanLength:0} B; {options.LatencyConnections} connection(s); " +
            (basis is null ? "no throughput row ran, so only the fixed rates" : $"fractions of eventd's {basis.Workload.Name} maximum"));
        try
        {
            RunLatency(basis?.Eventd?.EventsPerSecond, basis?.Baseline?.EventsPerSecond ?? 0);
        }
        catch (Exception e) when (e is WorkloadFailedException or InvalidOperationException or IOException or SocketException)
        {
            Fail(Workloads.Latency, e.Message);
        }
    }

    private void RunLatency(double? eventdMax, double baselineMax)
    {
        var rates = new List<(double Rate, string Label)>();
        if (eventdMax is double max)
        {
            foreach (double f in options.Fractions)
            {
                rates.Add((Math.Round(max * f / 1000) * 1000, $"{f * 100:0}% of max"));
            }
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
                new("eventd", Target.Parse($"tcp://127.0.0.1:{eventdPort}"), () => DaemonSample(daemon, "json", cpu: false)),
            };
            if (fixedRate)
            {
                runs.Add(new(Report.NoHandoffSystem, Target.Parse($"tcp://127.0.0.1:{noHandoffPort}"), () => DaemonSample(noHandoff, "json", cpu: false)));
            }

            if (rate <= baselineMax)
            {
                runs.Add(new("baseline", Target.Parse($"tcp://127.0.0.1:{baselinePort}"), () => BaselineSample(baseline, cpu: false)));
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

    /// <summary>
    /// Acknowledgements with the journal on: eventd on the binary row's pipeline with
    /// <c>[journal] fsync = "batch"</c>, one connection sending binary frames with
    /// <c>ack_requested</c> through <c>EventClient</c> at <see cref="Workloads.AckRate"/> (what
    /// <c>eventd-loadgen send --acks</c> does), paced every <paramref name="paceMicros"/> µs (0:
    /// frame by frame), the time from each frame's append to the ack that settled it; and a bare
    /// 4 KiB <c>fdatasync</c> in the same directory (the journal's filesystem) just before and just
    /// after, merged, because this disk's sync time drifts over minutes. Each run has a daemon and
    /// an empty journal of its own.
    /// </summary>
    private AckResult RunAcks(long paceMicros, int round)
    {
        Workload w = Workloads.Get(Workloads.Binary) with { Journal = true };
        EventPool pool = Pool(w);
        int port = FreePort();
        string name = Workloads.AckRow(paceMicros);
        string dir = Path.Combine(_tmp.FullName, name);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        using Daemon daemon = StartDaemon(name, Configs.ForWorkload(dir, port, w, options.AggregateThreads), dir);
        int syncs = options.Quick ? 300 : 1000;
        HdrHistogram.LongHistogram sync = SyncProbe.Measure(dir, syncs);
        TimeSpan warmup = options.LatencyWarmup;
        long start = Clock.NowNs() + 20_000_000;
        var plan = new SendPlan
        {
            Target = Target.Parse($"tcp://127.0.0.1:{port}"),
            Pool = pool,
            Connections = 1,
            Rate = Workloads.AckRate,
            StartNs = start,
            Duration = warmup + options.AckMeasure,
            Acks = true,
            AckPaceNs = paceMicros * 1000,
            WarmupSeconds = warmup.TotalSeconds,
        };
        (Thread sender, Func<SendResult> result) = LoadSender.Start(plan);
        Sample first;
        Sample last;
        try
        {
            // The window ends a little before the schedule does: the sending thread exits after its
            // last frame, and an exited thread's CPU time is gone from /proc.
            (first, last) = Window(start + Nanos(warmup), options.AckMeasure - TimeSpan.FromMilliseconds(250), () => DaemonSample(daemon));
        }
        finally
        {
            sender.Join();
        }

        SendResult sent = result();
        DaemonStats end = daemon.Stats();
        sync.Add(SyncProbe.Measure(dir, syncs));
        if (sent.Errors > 0)
        {
            throw new WorkloadFailedException($"the acking sender hit {sent.Errors} socket error(s)");
        }

        // Every frame of the schedule must have left: a pacing that sent fewer would flatter its latency.
        long scheduled = (long)Math.Ceiling(plan.Duration.TotalSeconds * plan.Rate);
        if (Math.Abs(sent.Events - scheduled) > 1)
        {
            throw new WorkloadFailedException($"the sender sent {sent.Events:N0} frames where its schedule holds {scheduled:N0} ({plan.Rate:N0}/s for {plan.Duration.TotalSeconds:0.#} s)");
        }

        HdrHistogram.HistogramBase ack = sent.AckLatency ?? throw new WorkloadFailedException("the sender measured no ack latency");
        if (ack.TotalCount == 0)
        {
            throw new WorkloadFailedException($"no frame was acknowledged after the warm-up ({sent.Acknowledged:N0} of {sent.Events:N0} in all)");
        }

        string suffix = round > 1 ? $"-round{round}" : "";
        Report.WriteHistogram(Path.Combine(_dataDir, $"{name}-{Workloads.AckRate:0}{suffix}"), ack);
        Report.WriteHistogram(Path.Combine(_dataDir, $"fdatasync-{name}{suffix}"), sync);
        string filesystem;
        try
        {
            filesystem = new DriveInfo(dir).DriveFormat;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            filesystem = "unknown";
        }

        double seconds = (last.TimeNs - first.TimeNs) / 1e9;
        var r = new AckResult(
            name,
            paceMicros,
            round,
            seconds <= 0 ? double.NaN : (last.Events - first.Events) / seconds,
            first.SenderCpu is null || last.SenderCpu is null ? CpuUse.None : ProcessCpu.Between(first.SenderCpu, last.SenderCpu),
            first.Cpu is null || last.Cpu is null ? CpuUse.None : ProcessCpu.Between(first.Cpu, last.Cpu),
            first.Machine is null || last.Machine is null ? double.NaN : MachineCpu.Between(first.Machine, last.Machine).Idle,
            (long)(end.Get("journal_sync_seconds{quantile=0.5}") * 1e9),
            (long)(end.Get("journal_sync_seconds{quantile=0.99}") * 1e9),
            Workloads.AckRate,
            sent.EventsPerSecond,
            sent.Events,
            sent.Acknowledged,
            sent.Unacknowledged,
            ack.TotalCount,
            ack.GetValueAtPercentile(50),
            ack.GetValueAtPercentile(90),
            ack.GetValueAtPercentile(99),
            ack.GetValueAtPercentile(99.9),
            ack.GetMaxValue(),
            sent.MaxLagNs,
            sync.TotalCount,
            sync.GetValueAtPercentile(50),
            sync.GetValueAtPercentile(99),
            sync.GetMaxValue(),
            last.GcCollections - first.GcCollections,
            PerEvent(first, last),
            filesystem);
        Log($"e2e: {name}{(round > 1 ? $" (round {round})" : "")} at {r.Rate:N0}/s, sender paced {r.Pacing} (journal fsync = batch, {filesystem}): " +
            $"ack p50 {Us(r.P50)} p90 {Us(r.P90)} p99 {Us(r.P99)} p99.9 {Us(r.P999)} max {Us(r.Max)} µs " +
            $"({r.Acknowledged:N0} of {r.Sent:N0} frames acked, {r.Unacknowledged:N0} unsettled; {r.ReceivedPerSecond:N0}/s received in the window); " +
            $"4 KiB fdatasync p50 {Us(r.SyncP50)} p99 {Us(r.SyncP99)} µs ({r.Syncs:N0} syncs); ack p50 = {r.P50OfSync:0.00}× sync p50; " +
            $"daemon's own syncs p50 {Us(r.DaemonSyncP50)} p99 {Us(r.DaemonSyncP99)} µs; sender {r.SenderCpu.Cores:0.00} cores (at most {r.SenderMaxLagNs / 1e3:N0} µs late), " +
            $"eventd {r.DaemonCpu.Cores:0.00} cores [{r.DaemonCpu.Top(4)}], machine idle {r.IdleCores:0.00} cores; {r.GcCollections} GCs, {r.AllocatedBytesPerEvent:0.###} B/event");
        return r;
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
            Pool = _latencyPool,
            Connections = options.LatencyConnections,
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

        // The control socket answers before the sources bind; the daemon logs "running:" once they
        // have (a sender that connects in between is refused).
        while (DaemonStats.TryRead(daemon.Socket) is null || !LogSays(process, "running: "))
        {
            if (process.HasExited || Clock.NowNs() > deadline)
            {
                string log = File.Exists(process.LogPath) ? File.ReadAllText(process.LogPath) : "";
                daemon.Dispose();
                throw new InvalidOperationException($"eventd ({name}) did not come up; its log: {OneLine(log)}");
            }

            Thread.Sleep(20);
        }

        return daemon;
    }

    private static bool LogSays(ChildProcess process, string text)
    {
        try
        {
            return File.Exists(process.LogPath) && File.ReadAllText(process.LogPath).Contains(text, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Three <c>stats</c> calls back to back: the last is the sample, and half the allocation across
    /// the other two is what one call costs the daemon (its reply is built on the managed heap, and
    /// the counter moves in steps of a thread's allocation context), so that the harness does not
    /// charge its own reading to the pipeline. The CPU snapshots follow the last read.
    /// </summary>
    private static Sample DaemonSample(Daemon daemon, string source = Configs.Source, bool cpu = true)
    {
        DaemonStats c1 = daemon.Stats();
        daemon.Stats();
        DaemonStats s = daemon.Stats();
        long rejected = s.Sum($"events_invalid_total{{source={source},") + s.Sum($"events_oversized_total{{source={source}}}") + s.Sum("events_dropped_total{");
        return new Sample(
            s.TimeNs,
            s.Received(source),
            s.BytesReceived(source),
            s.GcCollections,
            s.AllocatedBytes,
            s.ResidentBytes,
            (s.AllocatedBytes - c1.AllocatedBytes) / 2,
            3,
            s.Processed(Configs.Aggregate),
            s.Written(Configs.Sink),
            rejected,
            rejected == 0 ? "" : s.Matching("events_invalid_total{", "events_oversized_total{", "events_dropped_total{"),
            cpu ? ProcessCpu.Read(daemon.Pid) : null,
            cpu ? SenderCpu() : null,
            cpu ? MachineCpu.Read() : null);
    }

    /// <summary>Baseline counter line: t, received, bytes, passed, groups emitted, written, gc0, gc1, gc2, allocated, rss, invalid.</summary>
    private static Sample BaselineSample(ChildProcess p, bool cpu = true)
    {
        long[] s = p.NextSample(TimeSpan.FromSeconds(5));
        long invalid = s.Length > 11 ? s[11] : 0;
        return new Sample(s[0], s[1], s[2], s[6] + s[7] + s[8], s[9], s[10], 0, 0, s[3], s[4], invalid, invalid == 0 ? "" : $"{invalid} invalid",
            cpu ? ProcessCpu.Read(p.Pid) : null, cpu ? SenderCpu() : null, cpu ? MachineCpu.Read() : null);
    }

    /// <summary>Floor counter line: t, events, bytes.</summary>
    private static Sample CounterSample(ChildProcess p)
    {
        long[] s = p.NextSample(TimeSpan.FromSeconds(5));
        return new Sample(s[0], s[1], s[2], 0, 0, 0, 0, 0, 0, 0, 0, "", ProcessCpu.Read(p.Pid), SenderCpu(), MachineCpu.Read());
    }

    /// <summary>The load generator's own sending threads (<c>send-N</c>): what the sender took of the shared cores.</summary>
    private static ProcessCpu SenderCpu() => ProcessCpu.Read(Environment.ProcessId, "send-");

    /// <summary>A message on one line, so that it reads in a table cell and in a log line: its lines joined with " | ".</summary>
    private static string OneLine(string text) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

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
    /// <param name="Passed">Events the filter let through to the aggregate.</param>
    /// <param name="Groups">Window results the aggregate emitted (one per group per window).</param>
    /// <param name="Rejected">Events invalid, oversized or dropped: none may be, or the row is not the workload.</param>
    private readonly record struct Sample(
        long TimeNs,
        long Events,
        long Bytes,
        long GcCollections,
        long AllocatedBytes,
        long ResidentBytes,
        long ObserverBytes,
        int Reads,
        long Passed,
        long Groups,
        long Rejected,
        string RejectedDetail,
        ProcessCpu? Cpu,
        ProcessCpu? SenderCpu,
        MachineCpu? Machine);

    private sealed class Daemon(ChildProcess process, string socket) : IDisposable
    {
        public string Socket { get; } = socket;

        public int Pid => process.Pid;

        public DaemonStats Stats() => DaemonStats.Read(Socket);

        public void Dispose()
        {
            process.Stop(TimeSpan.FromSeconds(15));
            process.Dispose();
        }
    }
}

/// <summary>A part of the benchmark that ran but whose numbers would not be the workload's (or that could not run).</summary>
internal sealed class WorkloadFailedException(string message) : Exception(message);
