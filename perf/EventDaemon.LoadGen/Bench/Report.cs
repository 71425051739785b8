using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using HdrHistogram;

namespace EventDaemon.LoadGen.Bench;

/// <summary>The table, the JSON and the plot of one e2e run.</summary>
internal sealed class Report(E2eOptions options, Machine machine, List<WorkloadResult> rows, List<LatencyResult> latency, SteadyStateResult? steady, string? latencyBasis)
{
    /// <summary>The latency pipeline with <c>idle_handoff = false</c>, for comparison.</summary>
    public const string NoHandoffSystem = "eventd-no-handoff";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Ack latency with the journal on, one row per pacing and round, when the acks section ran.</summary>
    public IReadOnlyList<AckResult> Acks { get; init; } = [];

    /// <summary>The per-key row without and with the journal, when both ran.</summary>
    private (WorkloadResult Off, WorkloadResult On)? JournalPair =>
        rows.Find(r => r.Workload.Name == Workloads.PerKey) is { Eventd: not null } off
        && rows.Find(r => r.Workload.Name == Workloads.PerKeyJournal) is { Eventd: not null } on
            ? (off, on)
            : null;

    private static double JournalShare((WorkloadResult Off, WorkloadResult On) p) => p.On.Eventd!.EventsPerSecond / p.Off.Eventd!.EventsPerSecond;

    public List<TargetCheck> Evaluate()
    {
        var checks = new List<TargetCheck>();
        foreach (WorkloadResult r in rows)
        {
            Workload w = r.Workload;
            if (r.Eventd is not { } e)
            {
                checks.Add(new($"{w.Name}: eventd", w.TargetText, $"did not run: {r.Failure}", false));
                continue;
            }

            if (w.FloorTarget is double f)
            {
                string measured = r.Floor is null ? "no floor" : $"{r.OfFloor * 100:0.0} %";
                checks.Add(new($"{w.Name}: events/s vs line-count floor", $"≥ {f * 100:0} %", measured, r.OfFloor >= f));
            }

            if (w.CoresTarget is double c)
            {
                checks.Add(new($"{w.Name}: CPU cores eventd uses", $"≥ {c:0.0#}", e.Cpu.Cores.ToString("0.00", Invariant), e.Cpu.Cores >= c));
            }

            checks.Add(new($"{w.Name}: GC collections", "0", e.GcCollections.ToString(Invariant), e.GcCollections == 0));
            checks.Add(new($"{w.Name}: managed bytes allocated per event", "< 0.01", e.AllocatedBytesPerEvent.ToString("0.#####", Invariant), e.AllocatedBytesPerEvent < 0.01));
        }

        if (JournalPair is { } pair)
        {
            double share = JournalShare(pair);
            checks.Add(new($"{Workloads.PerKeyJournal}: events/s with the journal vs without ({Workloads.PerKey})", $"≥ {Workloads.JournalThroughputTarget * 100:0} %",
                $"{Rate(pair.On.Eventd!.EventsPerSecond)} vs {Rate(pair.Off.Eventd!.EventsPerSecond)} = {share * 100:0.0} %", share >= Workloads.JournalThroughputTarget));
        }

        foreach (AckResult a in Acks)
        {
            string row = AckRowTitle(a);
            checks.Add(new($"{row}: ack p50 at {a.Rate / 1000:0}k/s (journal fsync = batch) vs 4 KiB fdatasync p50, same filesystem", $"≤ {Workloads.AckToSyncTarget:0}×",
                $"{Us(a.P50)} vs {Us(a.SyncP50)} µs = {a.P50OfSync:0.00}×", a.P50OfSync <= Workloads.AckToSyncTarget));
            checks.Add(new($"{row}: frames left unacknowledged at the end of the ack run", "0", a.Unacknowledged.ToString(Invariant), a.Unacknowledged == 0));
            checks.Add(new($"{row}: GC collections during the ack run (journal on)", "0", a.GcCollections.ToString(Invariant), a.GcCollections == 0));
        }

        // Targets are for the defaults; the idle_handoff = false rows are in the latency table.
        foreach (double rate in options.AbsoluteRates)
        {
            LatencyResult? d = latency.Find(l => l.System == "eventd" && l.Rate == rate);
            LatencyResult? f = latency.Find(l => l.System == "floor" && l.Rate == rate);
            if (d is null || f is null)
            {
                continue;
            }

            string at = $"{rate / 1000:0}k/s";
            double p50 = (double)d.P50 / f.P50;
            double p99 = (double)d.P99 / f.P99;
            checks.Add(new($"p50 at {at} vs forwarder floor", "≤ 1.5×", $"{Us(d.P50)} vs {Us(f.P50)} µs = {p50:0.00}×", p50 <= 1.5));
            checks.Add(new($"p99 at {at} vs forwarder floor", "≤ 1.5×", $"{Us(d.P99)} vs {Us(f.P99)} µs = {p99:0.00}×", p99 <= 1.5));
        }

        if (steady is not null)
        {
            checks.Add(new($"GC collections, {steady.Seconds:0} s steady state ({steady.Workload})", "0", steady.GcCollections.ToString(Invariant), steady.GcCollections == 0));
            checks.Add(new($"managed bytes allocated per event, steady state ({steady.Workload})", "< 0.01", steady.AllocatedBytesPerEvent.ToString("0.#####", Invariant), steady.AllocatedBytesPerEvent < 0.01));
            checks.Add(new("RSS, steady state", $"≤ 64 MiB + ring + arena = {Mib(steady.RssLimitBytes)} MiB", $"{Mib(steady.ResidentBytes)} MiB", steady.ResidentBytes <= steady.RssLimitBytes));
        }

        return checks;
    }

    public string Markdown(List<TargetCheck> targets, List<string> failures)
    {
        var md = new StringBuilder();
        md.Append(Invariant, $"## eventd end to end — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC{(options.Quick ? " (QUICK: development numbers)" : "")}\n\n");
        md.Append(Invariant, $"Machine: {machine}. Sender, receiver and the system under test share the cores. ");
        md.Append(Invariant, $"Ran: {string.Join(", ", options.Workloads)}{(options.AggregateThreads is int aggThreads ? $"; aggregate `threads = {aggThreads}`" : "")}.\n\n");
        if (failures.Count > 0)
        {
            md.Append("**FAILED** — these parts could not run and carry no numbers:\n\n");
            foreach (string f in failures)
            {
                md.Append(Invariant, $"- {f}\n");
            }

            md.Append('\n');
        }

        if (rows.Count > 0)
        {
            md.Append("### Throughput matrix (flat out, measured at the receiver)\n\n");
            md.Append(Invariant, $"Each row sends its events over {options.Connections} TCP connection(s) flat out for {options.ThroughputMeasure.TotalSeconds:0} s after a warm-up, to the C line-count floor (same event bytes), to eventd and to the C# baseline doing the same work, one at a time");
            md.Append(options.Rounds > 1 ? string.Create(Invariant, $", {options.Rounds} rounds taking turns, each system's best round shown (every round in the JSON). ") : ". ");
            md.Append("Cores and CPU-ns/event: `/proc/PID/stat` utime + stime over the window; GCs and B/event: eventd's `stats`; groups/window: window results the aggregate emitted per 1 s window.\n\n");
            foreach (WorkloadResult r in rows)
            {
                md.Append(Invariant, $"- **{r.Workload.Name}**: {r.Workload.Describe(options.Connections)}.\n");
            }

            md.Append("\n| workload | floor events/s | eventd events/s | vs floor | eventd cores | CPU-ns/event | groups/window | GCs | B/event | baseline events/s | vs baseline | target | met |\n");
            md.Append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
            foreach (WorkloadResult r in rows)
            {
                ThroughputResult? e = r.Eventd;
                string floor = r.Floor is null ? "FAILED" : Rate(r.Floor.EventsPerSecond);
                string baseline = r.Baseline is not null ? Rate(r.Baseline.EventsPerSecond) : r.Workload.Journal ? "–" : "FAILED";
                // The journal row's throughput target is against another row (per-key): judged here too.
                bool journalMet = !r.Workload.Journal || JournalPair is not { } p || JournalShare(p) >= Workloads.JournalThroughputTarget;
                string met = r.Failure is not null ? "**FAILED**" : r.TargetMet && journalMet ? "yes" : "**no**";
                md.Append(e is null
                    ? string.Create(Invariant, $"| {r.Workload.Name} | {floor} | FAILED | | | | | | | {baseline} | | {r.Workload.TargetText} | {met} |\n")
                    : string.Create(Invariant,
                        $"| {r.Workload.Name} | {floor} | {Rate(e.EventsPerSecond)} | {Pct(r.OfFloor)} | {e.Cpu.Cores:0.00} | {e.CpuNsPerEvent:N0} | {e.GroupsPerWindow:N0} | {e.GcCollections} | {e.AllocatedBytesPerEvent:0.###} | {baseline} | {Times(r.OfBaseline)} | {r.Workload.TargetText} | {met} |\n"));
            }

            md.Append("\n#### Every system, with the CPU it used\n\n");
            md.Append("Sender: the load generator's sending threads over the same window (they share the two cores with the system under test); idle and steal: ");
            md.Append("the machine's idle (and iowait) and hypervisor-stolen CPU over the window, from `/proc/stat`, in cores.\n\n");
            md.Append("| workload | system | format | events/s | MB/s | cores | CPU-ns/event | sender cores | idle | steal | passed filter | groups/window | GCs | B/event | RSS | busiest threads (cores) |\n");
            md.Append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
            foreach (WorkloadResult r in rows)
            {
                foreach (ThroughputResult x in new[] { r.Floor, r.Eventd, r.Baseline }.OfType<ThroughputResult>())
                {
                    bool floor = x.System == "floor";
                    md.Append(Invariant,
                        $"| {r.Workload.Name} | {Describe(x.System, x.Format)} | {x.Format} | {x.EventsPerSecond:N0} | {x.MegabytesPerSecond:N1} | {x.Cpu.Cores:0.00} | {x.CpuNsPerEvent:N0} | {x.SenderCpu.Cores:0.00} | {x.IdleCores:0.00} | {x.StealCores:0.00} | " +
                        $"{(floor ? "–" : Pct(x.PassShare))} | {(floor ? "–" : x.GroupsPerWindow.ToString("N0", Invariant))} | {(floor ? "–" : x.GcCollections.ToString(Invariant))} | " +
                        $"{(floor ? "–" : x.AllocatedBytesPerEvent.ToString("0.###", Invariant))} | {(x.ResidentBytes == 0 ? "–" : $"{Mib(x.ResidentBytes)} MiB")} | {x.Cpu.Top(5)} |\n");
                }
            }
        }

        if (latency.Count > 0)
        {
            md.Append("\n### Latency, send → return, µs (fixed rate, from intended send times: coordinated omission corrected)\n\n");
            md.Append(Invariant, $"Events: {options.LatencyShape}; {options.LatencyConnections} connection(s). ");
            md.Append("eventd: TCP → filter → tcp sink (defaults); eventd-no-handoff: the same with idle_handoff = false; floor: C byte forwarder (no parsing); baseline: Channels + JsonSerializer, StreamWriter back. ");
            md.Append(Invariant, $"Rates in % of max are fractions of eventd's {latencyBasis ?? "(none)"} maximum above. ");
            md.Append(Invariant, $"At the fixed rates each system ran {options.LatencyRounds} interleaved round(s) of {options.LatencyMeasure.TotalSeconds:0} s, merged into one histogram; ");
            md.Append("GCs and B/event: read from the process's counters around each round.\n\n");
            md.Append("| rate | system | sent/s | p50 | p90 | p99 | p99.9 | p99.99 | max | GCs | B/event |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            foreach (LatencyResult l in latency)
            {
                string gcs = l.GcCollections?.ToString(Invariant) ?? "–";
                string perEvent = l.AllocatedBytesPerEvent?.ToString("0.###", Invariant) ?? "–";
                string lost = l.Returned < l.Sent ? $" ({l.Sent - l.Returned:N0} not back)" : "";
                md.Append(Invariant, $"| {l.Rate:N0} ({l.RateLabel}) | {l.System}{lost} | {l.AchievedRate:N0} | {Us(l.P50)} | {Us(l.P90)} | {Us(l.P99)} | {Us(l.P999)} | {Us(l.P9999)} | {Us(l.Max)} | {gcs} | {perEvent} |\n");
            }
        }

        if (JournalPair is not null || Acks.Count > 0)
        {
            md.Append("\n### The journal: its cost in throughput, and acknowledgements against the disk's sync\n\n");
            if (JournalPair is { } pair)
            {
                ThroughputResult off = pair.Off.Eventd!;
                ThroughputResult on = pair.On.Eventd!;
                md.Append(Invariant, $"The {Workloads.PerKey} workload flat out in the same run, without and with `[journal] fsync = \"batch\"` (eventd only; {options.Connections} TCP connections, {options.ThroughputMeasure.TotalSeconds:0} s measured at the receiver after the warm-up).\n\n");
                md.Append("| workload | journal | events/s | vs journal off | eventd cores | CPU-ns/event | GCs | B/event | target |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n");
                md.Append(Invariant, $"| {Workloads.PerKey} | off | {Rate(off.EventsPerSecond)} | 100 % | {off.Cpu.Cores:0.00} | {off.CpuNsPerEvent:N0} | {off.GcCollections} | {off.AllocatedBytesPerEvent:0.###} | |\n");
                md.Append(Invariant, $"| {Workloads.PerKeyJournal} | fsync = batch | {Rate(on.EventsPerSecond)} | {Pct(JournalShare(pair))} | {on.Cpu.Cores:0.00} | {on.CpuNsPerEvent:N0} | {on.GcCollections} | {on.AllocatedBytesPerEvent:0.###} | ≥ {Workloads.JournalThroughputTarget * 100:0} %, 0 GC |\n");
                IReadOnlyList<double> offRounds = off.RoundRates, onRounds = on.RoundRates;
                if (offRounds.Count > 1 && offRounds.Count == onRounds.Count)
                {
                    // Rounds take turns, so a round's two rates were measured close together; the best
                    // of each (the ratio above) may come from different rounds.
                    md.Append("\nSame-round ratios (journal on / off, round by round): ");
                    md.AppendJoin(", ", onRounds.Select((rate, i) => Pct(rate / offRounds[i])));
                    md.Append(".\n");
                }
            }

            if (Acks.Count > 0)
            {
                AckResult a = Acks[0];
                md.Append(Invariant, $"\nAcks: eventd on the {Workloads.Binary} row's pipeline with `[journal] fsync = \"batch\"`; one connection sends binary frames with `ack_requested` through `EventClient` at {a.Rate:N0}/s (what `eventd-loadgen send --acks` does) for {options.AckMeasure.TotalSeconds:0} s after {options.LatencyWarmup.TotalSeconds:0} s of warm-up; ");
                md.Append(Invariant, $"latency from a frame's append to the read of the ack that settled it. fdatasync: a 4 KiB `pwrite` into a pre-zeroed file then `fdatasync`, the sync alone timed, {a.Syncs:N0} times in the journal's directory ({a.Filesystem}) just before and after each row, merged. ");
                md.Append("Each row has a daemon and an empty journal of its own; the rows take turns in each round. The sender's pacing: `acks` writes frame by frame, sleeping to each frame's due time; `acks-Nus` writes every N µs what fell due and between writes waits on the socket (`ppoll`), reading each ack as it arrives. ");
                md.Append("The daemon's own syncs are its `journal_sync_seconds` since its start (warm-up included); CPU is over the measured window (its last 0.25 s left out, while the sender finishes).\n\n");
                md.Append("| row | pacing | received/s | ack p50 µs | p90 | p99 | p99.9 | max | n | sync p50 µs | sync p99 | ack p50 / sync p50 | daemon's syncs p50 / p99 µs | sender cores | sender late by, max µs | eventd cores (busiest threads) | machine idle cores | frames acked | GCs | target |\n");
                md.Append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---|---:|---|\n");
                foreach (AckResult r in Acks)
                {
                    string met = r.P50OfSync <= Workloads.AckToSyncTarget ? "met" : "**missed**";
                    md.Append(Invariant,
                        $"| {AckRowTitle(r)} | {r.Pacing} | {Rate(r.ReceivedPerSecond)} | {Us(r.P50)} | {Us(r.P90)} | {Us(r.P99)} | {Us(r.P999)} | {Us(r.Max)} | {r.Recorded:N0} | {Us(r.SyncP50)} | {Us(r.SyncP99)} | " +
                        $"**{r.P50OfSync:0.00}×** | {Us(r.DaemonSyncP50)} / {Us(r.DaemonSyncP99)} | {r.SenderCpu.Cores:0.00} | {Us(r.SenderMaxLagNs)} | {r.DaemonCpu.Cores:0.00} ({r.DaemonCpu.Top(3)}) | {r.IdleCores:0.00} | " +
                        $"{r.Acknowledged:N0} of {r.Sent:N0} ({r.Unacknowledged:N0} unsettled) | {r.GcCollections} | ≤ {Workloads.AckToSyncTarget:0}×: {met} |\n");
                }
            }
        }

        if (steady is not null)
        {
            md.Append(Invariant, $"\n### Steady state: eventd on the {steady.Workload} workload, {steady.Rate:N0} events/s ({options.SteadyFraction * 100:0} % of its max) for {steady.Seconds:0} s\n\n");
            md.Append("| workload | events | GC collections | allocated bytes | B/event | RSS | locked |\n|---|---:|---:|---:|---:|---:|---:|\n");
            md.Append(Invariant, $"| {steady.Workload} | {steady.Events:N0} | {steady.GcCollections} | {steady.AllocatedBytes:N0} | {steady.AllocatedBytesPerEvent:0.#####} | {Mib(steady.ResidentBytes)} MiB | {Mib(steady.LockedBytes)} MiB |\n");
        }

        md.Append("\n### Targets\n\n| target | wanted | measured | |\n|---|---|---|---|\n");
        foreach (TargetCheck t in targets)
        {
            md.Append(Invariant, $"| {t.Name} | {t.Target} | {t.Measured} | {(t.Pass ? "ok" : "**MISSED**")} |\n");
        }

        return md.ToString();
    }

    public void WriteJson(string path, List<TargetCheck> targets, List<string> failures)
    {
        using FileStream file = File.Create(path);
        // Relaxed escaping: the conditions keep their quotes readable; nothing here is embedded in HTML.
        using var w = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("benchmark", "e2e");
        w.WriteString("date", DateTime.UtcNow.ToString("O", Invariant));
        w.WriteBoolean("quick", options.Quick);
        w.WriteNumber("rounds", options.Rounds);
        w.WriteStartArray("ran");
        foreach (string name in options.Workloads)
        {
            w.WriteStringValue(name);
        }

        w.WriteEndArray();
        if (options.AggregateThreads is int threads)
        {
            w.WriteNumber("aggregate_threads", threads);
        }

        w.WriteStartArray("failures");
        foreach (string f in failures)
        {
            w.WriteStringValue(f);
        }

        w.WriteEndArray();
        w.WriteStartObject("machine");
        w.WriteString("cpu", machine.Cpu);
        w.WriteNumber("cpus", machine.Cpus);
        w.WriteNumber("memory_bytes", machine.MemoryBytes);
        w.WriteString("kernel", machine.Kernel);
        w.WriteString("runtime", machine.Runtime);
        w.WriteNumber("clock_ticks_per_second", ProcessCpu.TicksPerSecond);
        w.WriteEndObject();

        w.WriteStartArray("workloads");
        foreach (WorkloadResult r in rows)
        {
            Workload wl = r.Workload;
            w.WriteStartObject();
            w.WriteString("name", wl.Name);
            w.WriteString("description", wl.Describe(options.Connections));
            w.WriteString("format", wl.Format == Generation.EventFormat.Json ? "json" : "binary");
            w.WriteString("events", wl.Shape.ToString());
            w.WriteNumber("pool_events", wl.PoolSize);
            w.WriteNumber("connections", options.Connections);
            w.WriteString("condition", wl.Condition);
            w.WriteString("group_by", string.Join(",", wl.GroupBy));
            w.WriteString("metrics", string.Join(",", wl.Metrics));
            if (wl.MaxGroups is int maxGroups)
            {
                w.WriteNumber("max_groups", maxGroups);
            }

            w.WriteNumber("expected_pass", Math.Round(wl.ExpectedPass, 4));
            w.WriteNumber("groups_bound", wl.GroupsBound);
            w.WriteString("target", wl.TargetText);
            if (wl.FloorTarget is double ft)
            {
                w.WriteNumber("floor_target", ft);
            }

            if (wl.CoresTarget is double ct)
            {
                w.WriteNumber("cores_target", ct);
            }

            Number(w, "eventd_vs_floor", r.OfFloor);
            Number(w, "eventd_vs_baseline", r.OfBaseline);
            w.WriteBoolean("target_met", r.TargetMet);
            if (r.Failure is not null)
            {
                w.WriteString("failure", r.Failure);
            }

            Throughput(w, "floor", r.Floor);
            Throughput(w, "eventd", r.Eventd);
            Throughput(w, "baseline", r.Baseline);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("latency_workload");
        w.WriteString("events", options.LatencyShape.ToString());
        w.WriteNumber("connections", options.LatencyConnections);
        w.WriteString("condition", Configs.LatencyCondition);
        if (latencyBasis is not null)
        {
            w.WriteString("fractions_of", latencyBasis);
        }

        w.WriteEndObject();
        w.WriteStartArray("latency");
        foreach (LatencyResult l in latency)
        {
            w.WriteStartObject();
            w.WriteString("system", l.System);
            w.WriteString("rate_label", l.RateLabel);
            w.WriteNumber("rate", l.Rate);
            w.WriteNumber("sent_per_second", Math.Round(l.AchievedRate));
            w.WriteNumber("sent", l.Sent);
            w.WriteNumber("returned", l.Returned);
            w.WriteNumber("recorded", l.Recorded);
            w.WriteNumber("p50_ns", l.P50);
            w.WriteNumber("p90_ns", l.P90);
            w.WriteNumber("p99_ns", l.P99);
            w.WriteNumber("p999_ns", l.P999);
            w.WriteNumber("p9999_ns", l.P9999);
            w.WriteNumber("max_ns", l.Max);
            w.WriteNumber("sender_max_lag_ns", l.SenderMaxLagNs);
            if (l.GcCollections is long gc)
            {
                w.WriteNumber("gc_collections", gc);
            }

            if (l.AllocatedBytesPerEvent is double b)
            {
                Number(w, "allocated_bytes_per_event", b);
            }

            w.WriteString("percentiles", l.DataFile);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (steady is not null)
        {
            w.WriteStartObject("steady_state");
            w.WriteString("workload", steady.Workload);
            w.WriteNumber("rate", Math.Round(steady.Rate));
            w.WriteNumber("seconds", Math.Round(steady.Seconds, 1));
            w.WriteNumber("events", steady.Events);
            w.WriteNumber("gc_collections", steady.GcCollections);
            w.WriteNumber("allocated_bytes", steady.AllocatedBytes);
            w.WriteNumber("allocated_bytes_raw", steady.RawAllocatedBytes);
            w.WriteNumber("stats_read_bytes", steady.StatsReadBytes);
            Number(w, "allocated_bytes_per_event", steady.AllocatedBytesPerEvent);
            w.WriteNumber("resident_bytes", steady.ResidentBytes);
            w.WriteNumber("locked_bytes", steady.LockedBytes);
            w.WriteNumber("rss_limit_bytes", steady.RssLimitBytes);
            w.WriteBoolean("zero_gc", steady.ZeroGc);
            w.WriteEndObject();
        }

        if (JournalPair is { } journal)
        {
            w.WriteStartObject("journal_throughput");
            w.WriteString("workload", Workloads.PerKey);
            w.WriteString("fsync", "batch");
            w.WriteNumber("off_events_per_second", Math.Round(journal.Off.Eventd!.EventsPerSecond));
            w.WriteNumber("on_events_per_second", Math.Round(journal.On.Eventd!.EventsPerSecond));
            Number(w, "on_vs_off", JournalShare(journal));
            w.WriteNumber("target", Workloads.JournalThroughputTarget);
            w.WriteNumber("on_gc_collections", journal.On.Eventd!.GcCollections);
            Number(w, "on_allocated_bytes_per_event", journal.On.Eventd!.AllocatedBytesPerEvent);
            w.WriteEndObject();
        }

        if (Acks.Count > 0)
        {
            w.WriteStartArray("acks");
            foreach (AckResult acks in Acks)
            {
                string suffix = acks.Round > 1 ? $"-round{acks.Round}" : "";
                w.WriteStartObject();
                w.WriteString("row", acks.Name);
                w.WriteNumber("round", acks.Round);
                w.WriteString("pipeline", $"{Workloads.Binary} row, [journal] fsync = batch, 1 connection, EventClient with ack_requested");
                w.WriteNumber("pace_us", acks.PaceMicros);
                w.WriteString("pacing", acks.Pacing);
                w.WriteNumber("rate", acks.Rate);
                w.WriteNumber("sent_per_second", Math.Round(acks.AchievedRate));
                Number(w, "received_per_second_in_window", Math.Round(acks.ReceivedPerSecond));
                w.WriteNumber("sent", acks.Sent);
                w.WriteNumber("acknowledged", acks.Acknowledged);
                w.WriteNumber("unacknowledged", acks.Unacknowledged);
                w.WriteNumber("recorded", acks.Recorded);
                w.WriteNumber("ack_p50_ns", acks.P50);
                w.WriteNumber("ack_p90_ns", acks.P90);
                w.WriteNumber("ack_p99_ns", acks.P99);
                w.WriteNumber("ack_p999_ns", acks.P999);
                w.WriteNumber("ack_max_ns", acks.Max);
                w.WriteNumber("sender_max_lag_ns", acks.SenderMaxLagNs);
                Number(w, "sender_cores", acks.SenderCpu.Cores);
                Number(w, "eventd_cores", acks.DaemonCpu.Cores);
                w.WriteString("eventd_threads", acks.DaemonCpu.Top(6));
                Number(w, "machine_idle_cores", acks.IdleCores);
                w.WriteNumber("daemon_sync_p50_ns", acks.DaemonSyncP50);
                w.WriteNumber("daemon_sync_p99_ns", acks.DaemonSyncP99);
                w.WriteString("filesystem", acks.Filesystem);
                w.WriteNumber("fdatasync_count", acks.Syncs);
                w.WriteNumber("fdatasync_p50_ns", acks.SyncP50);
                w.WriteNumber("fdatasync_p99_ns", acks.SyncP99);
                w.WriteNumber("fdatasync_max_ns", acks.SyncMax);
                Number(w, "ack_p50_vs_fdatasync_p50", acks.P50OfSync);
                w.WriteNumber("target", Workloads.AckToSyncTarget);
                w.WriteNumber("gc_collections", acks.GcCollections);
                Number(w, "allocated_bytes_per_event", acks.AllocatedBytesPerEvent);
                w.WriteString("ack_percentiles", $"latency/{acks.Name}-{acks.Rate:0}{suffix}.dat");
                w.WriteString("fdatasync_percentiles", $"latency/fdatasync-{acks.Name}{suffix}.dat");
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteStartArray("targets");
        foreach (TargetCheck t in targets)
        {
            w.WriteStartObject();
            w.WriteString("name", t.Name);
            w.WriteString("target", t.Target);
            w.WriteString("measured", t.Measured);
            w.WriteBoolean("pass", t.Pass);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Throughput(Utf8JsonWriter w, string name, ThroughputResult? t)
    {
        if (t is null)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartObject(name);
        w.WriteString("format", t.Format);
        w.WriteNumber("events_per_second", Math.Round(t.EventsPerSecond));
        w.WriteNumber("mb_per_second", Math.Round(t.MegabytesPerSecond, 2));
        w.WriteNumber("seconds", Math.Round(t.Seconds, 3));
        Number(w, "cores", Math.Round(t.Cpu.Cores, 3));
        Number(w, "cpu_ns_per_event", Math.Round(t.CpuNsPerEvent, 1));
        w.WriteStartArray("round_events_per_second");
        foreach (double rate in t.RoundRates)
        {
            w.WriteNumberValue(Math.Round(rate));
        }

        w.WriteEndArray();
        Number(w, "sender_cores", Math.Round(t.SenderCpu.Cores, 3));
        Number(w, "machine_idle_cores", Math.Round(t.IdleCores, 3));
        Number(w, "machine_steal_cores", Math.Round(t.StealCores, 3));
        if (t.System != "floor")
        {
            // The C floor has no managed heap, no filter and no aggregate.
            Number(w, "pass_share", Math.Round(t.PassShare, 4));
            Number(w, "groups_per_window", Math.Round(t.GroupsPerWindow));
            w.WriteNumber("gc_collections", t.GcCollections);
            Number(w, "allocated_bytes_per_event", t.AllocatedBytesPerEvent);
            w.WriteNumber("resident_bytes", t.ResidentBytes);
        }

        w.WriteStartArray("threads");
        foreach (ThreadUse u in t.Cpu.Threads)
        {
            w.WriteStartObject();
            w.WriteNumber("tid", u.Tid);
            w.WriteString("name", u.Name);
            Number(w, "cores", Math.Round(u.Cores, 3));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// Writes <paramref name="basePath"/>.hgrm (HdrHistogram's percentile distribution, µs, for its
    /// plotter) and <paramref name="basePath"/>.dat (1/(1-p), µs, p) for gnuplot.
    /// </summary>
    public static void WriteHistogram(string basePath, HistogramBase h)
    {
        using (var hgrm = new StreamWriter(basePath + ".hgrm"))
        {
            if (h.TotalCount > 0)
            {
                h.OutputPercentileDistribution(hgrm, 5, 1000.0);
            }
        }

        using var dat = new StreamWriter(basePath + ".dat");
        dat.WriteLine("# x=1/(1-percentile)  latency_us  percentile");
        if (h.TotalCount == 0)
        {
            return;
        }

        // Ten points per decade of 1/(1-p), up to the last percentile the count can resolve, then the maximum.
        double last = 1.0 - (1.0 / h.TotalCount);
        for (int k = 0; ; k++)
        {
            double p = 1.0 - Math.Pow(10, -k / 10.0);
            if (p > last)
            {
                break;
            }

            dat.WriteLine(string.Create(Invariant, $"{1.0 / (1.0 - p):G6} {h.GetValueAtPercentile(p * 100) / 1000.0:0.###} {p:0.######}"));
        }

        dat.WriteLine(string.Create(Invariant, $"{(double)h.TotalCount:G6} {h.GetMaxValue() / 1000.0:0.###} 1"));
    }

    /// <summary>A gnuplot script drawing the HdrHistogram-style percentile plot (log percentile axis) as SVG.</summary>
    public void WritePlotScript(string scriptPath, string svgPath)
    {
        var gp = new StringBuilder();
        gp.Append(Invariant, $"# Generated by eventd-loadgen e2e. Paths are relative to this file's directory: cd there, then gnuplot {Path.GetFileName(scriptPath)}\n");
        gp.Append("set terminal svg size 1400,620 dynamic enhanced font 'sans,12' background rgb 'white'\n");
        gp.Append(Invariant, $"set output '{Path.GetFileName(svgPath)}'\n");
        gp.Append("set logscale x\nset logscale y\nset yrange [1:*]\nset grid xtics ytics mytics\nset key top left box opaque\n");
        // Tic labels are format strings to gnuplot: a literal percent sign is written %%.
        gp.Append("set xtics ('0%%' 1, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, '99.999%%' 100000, '99.9999%%' 1000000)\n");
        gp.Append("set xlabel 'percentile'\nset ylabel 'send → return latency (µs)'\n");
        gp.Append(Invariant, $"set multiplot layout 1,2 title 'eventd latency, coordinated omission corrected — {Escape(machine.ToString())}{(options.Quick ? " (QUICK)" : "")}'\n");

        // One hue per system, darker for higher rates (dash types too, where the terminal draws them).
        var colors = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["eventd"] = ["#6baed6", "#1f77b4", "#08306b"],
            [NoHandoffSystem] = ["#74c476", "#2ca02c", "#00441b"],
            ["floor"] = ["#bdbdbd", "#7f7f7f", "#252525"],
            ["baseline"] = ["#fc9272", "#d62728", "#67000d"],
        };
        var absolute = latency.Where(l => options.AbsoluteRates.Contains(l.Rate)).ToList();
        var relative = latency.Where(l => !options.AbsoluteRates.Contains(l.Rate)).ToList();
        Panel(gp, "fixed rates (targets)", absolute, colors);
        Panel(gp, "fractions of the measured eventd maximum", relative.Count > 0 ? relative : absolute, colors);
        gp.Append("unset multiplot\n");
        File.WriteAllText(scriptPath, gp.ToString());
    }

    private static void Panel(StringBuilder gp, string title, List<LatencyResult> runs, Dictionary<string, string[]> colors)
    {
        gp.Append(Invariant, $"set title '{title}'\n");
        var rates = runs.Select(r => r.Rate).Distinct().Order().ToList();
        var plots = new List<string>();
        foreach (LatencyResult r in runs)
        {
            int shade = rates.IndexOf(r.Rate);
            string[] hues = colors[r.System];
            string color = hues[Math.Min(hues.Length - 1, rates.Count == 1 ? 1 : shade * (hues.Length - 1) / Math.Max(1, rates.Count - 1))];
            plots.Add(string.Create(Invariant, $"'{r.DataFile}' using 1:2 with lines lw 2 dt {shade + 1} lc rgb '{color}' title '{r.System} {r.Rate:N0}/s'"));
        }

        gp.Append("plot ").Append(plots.Count == 0 ? "1/0 notitle" : string.Join(", \\\n     ", plots)).Append('\n');
    }

    private static string Describe(string system, string format) => system switch
    {
        "floor" => format == "JSON" ? "floor: read + count lines (C)" : "floor: read + count frames (C)",
        "eventd" => "eventd: TCP → filter → aggregate → blackhole",
        "baseline" when format == "binary" => "baseline: Channels, BinaryReader, Dictionary (JIT, server GC)",
        "baseline" => "baseline: Channels, JsonSerializer, Dictionary (JIT, server GC)",
        _ => system,
    };

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value))
        {
            w.WriteNumber(name, Math.Round(value, 6));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string Escape(string s) => s.Replace("'", "''", StringComparison.Ordinal).Replace("_", "\\\\_", StringComparison.Ordinal);

    private static string AckRowTitle(AckResult a) => a.Round > 1 ? $"{a.Name} (round {a.Round})" : a.Name;

    private static string Rate(double eventsPerSecond) => eventsPerSecond.ToString("N0", Invariant);

    private static string Pct(double share) => double.IsFinite(share) ? (share * 100).ToString("0.0", Invariant) + " %" : "–";

    private static string Times(double ratio) => double.IsFinite(ratio) ? ratio.ToString("0.0", Invariant) + "×" : "–";

    private static string Us(long ns) => (ns / 1000.0).ToString(ns < 10_000 ? "0.0" : "N0", Invariant);

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.0", Invariant);
}
