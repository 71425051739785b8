using System.Globalization;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Daemon.Runtime;
using EventDaemon.Daemon.Sources;
using EventDaemon.Ring;
using EventDaemon.Stages.Metrics;
using Microsoft.Win32.SafeHandles;

namespace EventDaemon.Daemon.Hosting;

/// <summary>
/// Reads every counter into the families of SPEC §4, in its table's order. Only reads: the
/// pipeline is never stalled by a stats request. Every series exists from start at 0 for each
/// configured source, stage and sink; traffic-dependent labels appear with their first sample.
/// </summary>
public static class StatsCollector
{
    public static IReadOnlyList<MetricFamily> Collect(Pipeline p, TimeSpan uptime, PipelineMonitor monitor)
    {
        var families = new List<MetricFamily>();
        MetricFamily Family(string name, string type, string help)
        {
            var f = new MetricFamily(name, type, help);
            families.Add(f);
            return f;
        }

        Family("uptime_seconds", "gauge", "Seconds since the daemon started.").Add(Math.Round(uptime.TotalSeconds, 3));

        MetricFamily received = Family("events_received_total", "counter", "Events decoded and published to the ring.");
        MetricFamily bytes = Family("bytes_received_total", "counter", "Bytes read from the network.");
        MetricFamily connections = Family("connections_open", "gauge", "Open connections.");
        MetricFamily invalid = Family("events_invalid_total", "counter", "Malformed events skipped.");
        MetricFamily oversized = Family("events_oversized_total", "counter", "Events longer than max_event_bytes, skipped.");
        MetricFamily dropped = Family("events_dropped_total", "counter", "Events dropped, by reason.");
        MetricFamily closed = Family("connections_closed_total", "counter", "Connections a source closed itself, by reason.");
        MetricFamily acks = Family("acks_sent_total", "counter", "Ack frames written to binary clients that set ack_requested.");
        foreach (SourceMetrics s in p.SourceMetrics)
        {
            (string, string) label = ("source", s.Name);
            received.Add(s.Received, label);
            bytes.Add(s.Bytes, label);
            connections.Add(s.ConnectionsOpen, label);
            foreach ((string reason, long count) in s.InvalidByReason())
            {
                invalid.Add(count, label, ("reason", reason));
            }

            oversized.Add(s.Oversized, label);
            foreach ((string reason, long count) in s.DroppedByReason())
            {
                dropped.Add(count, label, ("reason", reason));
            }

            foreach ((string reason, long count) in s.ClosedByReason())
            {
                closed.Add(count, label, ("reason", reason));
            }

            acks.Add(s.AcksSent, label);
        }

        NatsFamilies(p, Family);

        MetricFamily processed = Family("events_processed_total", "counter", "Events a transform or sink has handled.");
        MetricFamily late = Family("events_late_total", "counter", "Events later than the allowed lateness (event-time aggregates).");
        MetricFamily lag = Family("stage_lag", "gauge", "Slots between the ring's cursor and the stage.");
        MetricFamily written = Family("sink_events_written_total", "counter", "Events a sink has written.");
        MetricFamily errors = Family("sink_errors_total", "counter", "Failed sink writes (each retried).");
        MetricFamily resent = Family("sink_events_resent_total", "counter",
            "Events a sink wrote again after a reconnect, because the broken connection may not have delivered them.");
        MetricFamily handedOff = Family("stage_handoff_batches_total", "counter",
            "Batches a source thread ran for the stage while the stage's thread was parked (idle_handoff).");
        // A fused stage's members share its thread and position, so its lag and its hand-offs; a
        // stage split over threads has one position per thread: its lag is the largest.
        var stageOf = new Dictionary<string, List<Stage>>(StringComparer.Ordinal);
        foreach (Stage stage in p.AllStages)
        {
            foreach (string member in stage.Members)
            {
                if (!stageOf.TryGetValue(member, out List<Stage>? threads))
                {
                    stageOf[member] = threads = [];
                }

                threads.Add(stage);
            }
        }

        foreach (StageMetrics m in p.StageMetrics)
        {
            (string, string) label = ("stage", m.Name);
            processed.Add(m.Processed, label);
            // Each stage type's own counters, each under its own name (StageCounters, STATS.md).
            switch (m.Stage)
            {
                case StageType.Aggregate:
                    late.Add(m.Late, label);
                    DropsOf(m.DroppedMaxGroups, "max_groups");
                    DropsOf(m.DroppedKeyTooLong, "key_too_long");
                    DropsOf(m.DroppedOpenWindows, "max_open_windows");
                    break;
                case StageType.Sink:
                    // Undelivered events a sink gave up on (drain timeout, or replaced by a reload).
                    DropsOf(m.Abandoned, "sink_abandoned");
                    break;
                case StageType.Throttle:
                    DropsOf(m.Throttled, "throttled");
                    break;
                case StageType.Dedupe:
                    DropsOf(m.Duplicates, "duplicate");
                    break;
                case StageType.Sample:
                    DropsOf(m.SampledOut, "sampled_out");
                    break;
            }

            void DropsOf(long count, string reason)
            {
                if (count > 0)
                {
                    dropped.Add(count, label, ("reason", reason));
                }
            }

            List<Stage>? runs = stageOf.GetValueOrDefault(m.Name);
            lag.Add(runs?.Max(s => s.Lag) ?? 0, label);
            handedOff.Add(runs?.Sum(s => s.Processor.HandedOffBatches) ?? 0, label);
            if (m.Stage == StageType.Sink)
            {
                written.Add(m.Written, ("sink", m.Name));
                errors.Add(m.Errors, ("sink", m.Name));
                resent.Add(Volatile.Read(ref m.Sink.Resent), ("sink", m.Name));
            }
        }

        Family("events_abandoned_total", "counter",
            "Events a drain gave up on when it timed out (per sink that did not deliver them); non-zero means the exit code is 3.")
            .Add(p.AbandonedEvents);
        Family("ring_capacity", "gauge", "Ring slots.").Add(p.Ring.Capacity);
        Family("ring_occupancy", "gauge", "Slots published and not yet released by every stage.").Add(p.Ring.Occupancy);
        Family("arena_capacity_bytes", "gauge", "Payload arena size.").Add(p.Ring.Arena.Capacity);
        Family("arena_used_bytes", "gauge", "Payload bytes of events in flight.").Add(p.Ring.ArenaUsed);

        if (p.Journal is { } journal)
        {
            Journal(journal, Family);
        }

        (double one, double ten) = monitor.Rates();
        Family("events_per_second", "gauge", "Events received per second, all sources.")
            .Add(Math.Round(one, 1), ("window", "1s"))
            .Add(Math.Round(ten, 1), ("window", "10s"));

        MetricFamily latency = Family("latency_ns", "gauge", "Ingest to stage-done latency since start, by quantile.");
        foreach (StageMetrics m in p.StageMetrics)
        {
            foreach ((double q, string label) in LatencyHistogram.ReportedQuantiles)
            {
                latency.Add(m.Latency.ValueAt(q), ("stage", m.Name), ("quantile", label));
            }
        }

        MetricFamily gc = Family("gc_collections_total", "counter", "Garbage collections since start.");
        for (int generation = 0; generation <= 2; generation++)
        {
            gc.Add(GC.CollectionCount(generation), ("generation", generation.ToString(CultureInfo.InvariantCulture)));
        }

        Family("gc_pause_seconds_total", "counter", "Time the runtime was paused for collections.").Add(GC.GetTotalPauseDuration().TotalSeconds);
        Family("managed_allocated_bytes_total", "counter", "Managed bytes allocated by all threads since start.").Add(GC.GetTotalAllocatedBytes(precise: false));
        (long rss, long locked) = ProcessMemory();
        Family("process_resident_memory_bytes", "gauge", "Resident set size.").Add(rss);
        Family("locked_memory_bytes", "gauge", "Memory locked with mlock.").Add(locked);

        bool hasEnrich = p.StageMetrics.Any(m => m.Stage == StageType.Enrich);
        if (hasEnrich)
        {
            MetricFamily hits = Family("enrich_hits_total", "counter", "Events whose join key was found in the table.");
            MetricFamily misses = Family("enrich_misses_total", "counter", "Events whose join key was not found.");
            MetricFamily ratio = Family("enrich_hit_ratio", "gauge", "Share of looked-up events whose join key was found (0 before the first).");
            foreach (StageMetrics m in p.StageMetrics.Where(m => m.Stage == StageType.Enrich))
            {
                long h = m.EnrichHits, miss = m.EnrichMisses;
                hits.Add(h, ("stage", m.Name));
                misses.Add(miss, ("stage", m.Name));
                ratio.Add(h + miss == 0 ? 0 : Math.Round((double)h / (h + miss), 4), ("stage", m.Name));
            }
        }

        // The key bounds of throttle and dedupe at work (StageCounters.KeysOverflow, .Evicted).
        if (p.StageMetrics.Any(m => m.Stage == StageType.Throttle))
        {
            MetricFamily overflow = Family("throttle_keys_overflow_total", "counter", "Events of keys beyond max_keys in their second, let through untracked.");
            foreach (StageMetrics m in p.StageMetrics.Where(m => m.Stage == StageType.Throttle))
            {
                overflow.Add(m.KeysOverflow, ("stage", m.Name));
            }
        }

        if (p.StageMetrics.Any(m => m.Stage == StageType.Dedupe))
        {
            MetricFamily evictions = Family("dedupe_evictions_total", "counter", "Values forgotten before their window ended, to stay within max_keys.");
            foreach (StageMetrics m in p.StageMetrics.Where(m => m.Stage == StageType.Dedupe))
            {
                evictions.Add(m.Evicted, ("stage", m.Name));
            }
        }

        // eventd tap (Runtime/StageTap.cs): what clients were sent, and what a slow client lost.
        if (p.Taps.Count > 0)
        {
            MetricFamily taken = Family("tap_events_total", "counter", "Events copied for a tapping client (eventd tap).");
            MetricFamily tapDropped = Family("tap_dropped_total", "counter", "Events a tap sampled but dropped because its client did not keep up.");
            foreach (StageTap tap in p.Taps.Values)
            {
                taken.Add(tap.Taken, ("stage", tap.Stage));
                tapDropped.Add(tap.Dropped, ("stage", tap.Stage));
            }
        }

        return families;
    }

    /// <summary>The <c>journal_*</c> series of SPEC §7, every one present from start.</summary>
    private static void Journal(DaemonJournal journal, Func<string, string, string, MetricFamily> family)
    {
        family("journal_appended_total", "counter", "Events appended to the journal since start.").Add(journal.Appended);
        family("journal_durable_sequence", "gauge", "Last journal sequence that is durable (-1: none yet).").Add(journal.DurableSequence);
        family("journal_bytes", "gauge", "Bytes of segment files on disk (each allocated whole).").Add(journal.DiskBytes);
        family("journal_segments", "gauge", "Segment files on disk.").Add(journal.SegmentCount);
        MetricFamily sync = family("journal_sync_seconds", "gauge", "Time one journal fdatasync took since start, by quantile.");
        foreach ((double q, string label) in LatencyHistogram.ReportedQuantiles)
        {
            sync.Add(journal.SyncLatency.ValueAt(q) / 1e9, ("quantile", label));
        }

        family("journal_replayed_total", "counter", "Events replayed from the journal at start.").Add(journal.Replayed);
        family("journal_records_lost_total", "counter", "Journal records lost to damage (counted at start and while replaying).").Add(journal.RecordsLost);
        IReadOnlyList<SinkCheckpointer> checkpoints = journal.Checkpointers;
        if (checkpoints.Count > 0)
        {
            MetricFamily checkpoint = family("sink_checkpoint_sequence", "gauge", "Last journal sequence a sink's synced checkpoint says it delivered (-1: none yet).");
            foreach (SinkCheckpointer c in checkpoints)
            {
                checkpoint.Add(c.Sequence, ("sink", c.Sink));
            }
        }

        IReadOnlyList<SinkCheckpointer> windows = journal.WindowCheckpointers;
        if (windows.Any(c => c.DeliveredWindow != long.MinValue))
        {
            MetricFamily window = family("sink_checkpoint_window", "gauge", "Start (Unix ns) of the last window a file sink behind an aggregate holds whole, by its synced checkpoint.");
            foreach (SinkCheckpointer c in windows.Where(c => c.DeliveredWindow != long.MinValue))
            {
                window.Add(c.DeliveredWindow, ("sink", c.Sink));
            }
        }

        IReadOnlyList<AggregateCheckpointer> aggregates = journal.Aggregates;
        if (aggregates.Count > 0)
        {
            MetricFamily aggregate = family("aggregate_checkpoint_sequence", "gauge", "Journal sequence an aggregate's replay would start at, by its synced checkpoint.");
            foreach (AggregateCheckpointer a in aggregates)
            {
                aggregate.Add(a.Sequence, ("aggregate", a.Aggregate));
            }
        }
    }

    /// <summary>The nats sources' own counters (STATS.md); present only when a nats source is configured.</summary>
    private static void NatsFamilies(Pipeline p, Func<string, string, string, MetricFamily> family)
    {
        List<NatsSource> sources = p.Sources.OfType<NatsSource>().ToList();
        if (sources.Count == 0)
        {
            return;
        }

        MetricFamily acks = family("nats_acks_total", "counter", "Messages acknowledged once every sink held their events.");
        MetricFamily progress = family("nats_progress_acks_total", "counter", "Progress acks (+WPI) for messages held longer than half the ack_wait.");
        MetricFamily redelivered = family("nats_redelivered_total", "counter", "Messages received on a second or later delivery (possible duplicates).");
        MetricFamily poison = family("nats_poison_total", "counter", "Messages received on their last delivery (max_deliver).");
        MetricFamily skipped = family("nats_skipped_total", "counter", "Messages received with no room to keep them, left to be delivered again.");
        MetricFamily inFlight = family("nats_in_flight", "gauge", "Messages received and not yet acknowledged.");
        MetricFamily latency = family("nats_ack_latency_seconds_total", "counter", "Sum of receive-to-ack times of acknowledged messages.");
        MetricFamily connects = family("nats_connects_total", "counter", "Connections made with the consumer found, the first included.");
        MetricFamily owned = family("nats_partitions_owned", "gauge", "Partitions consumed now (a list, or leases held); 0 when not partitioned.");
        MetricFamily renewals = family("nats_lease_renewals_total", "counter", "Partition leases renewed.");
        MetricFamily claims = family("nats_lease_claims_total", "counter", "Partition leases claimed (free or released partitions).");
        MetricFamily losses = family("nats_lease_losses_total", "counter", "Partition leases lost (taken by another instance, or not renewed for a TTL).");
        MetricFamily releases = family("nats_lease_releases_total", "counter", "Partition leases given up (above the fair share, or at stop).");
        foreach (NatsSource s in sources)
        {
            (string, string) label = ("source", s.Name);
            acks.Add(s.Nats.Acks, label);
            progress.Add(s.Nats.ProgressAcks, label);
            redelivered.Add(s.Nats.Redelivered, label);
            poison.Add(s.Nats.Poison, label);
            skipped.Add(s.Nats.Skipped, label);
            inFlight.Add(s.Nats.InFlight, label);
            latency.Add(s.Nats.AckLatencyNanos / 1e9, label);
            connects.Add(s.Nats.Connects, label);
            owned.Add(s.PartitionsOwned, label);
            renewals.Add(s.Leases?.Renewals ?? 0, label);
            claims.Add(s.Leases?.Claims ?? 0, label);
            losses.Add(s.Leases?.Losses ?? 0, label);
            releases.Add(s.Leases?.Releases ?? 0, label);
        }
    }

    /// <summary>
    /// /proc/self/status, opened once (<see cref="OpenProcessStatus"/>) and read with pread: at the
    /// open-file limit, when stats matter most, opening it again would fail.
    /// </summary>
    private static SafeFileHandle? _status;

    /// <summary>Opens /proc/self/status for the life of the process; at start, before any limit is near.</summary>
    public static void OpenProcessStatus()
    {
        if (_status is null)
        {
            SafeFileHandle handle = File.OpenHandle("/proc/self/status");
            if (Interlocked.CompareExchange(ref _status, handle, null) is not null)
            {
                handle.Dispose();
            }
        }
    }

    /// <summary>VmRSS and VmLck from /proc/self/status, in bytes.</summary>
    private static (long Rss, long Locked) ProcessMemory()
    {
        OpenProcessStatus();
        Span<byte> text = stackalloc byte[8192];
        int length = RandomAccess.Read(_status!, text, 0);
        text = text[..length];
        return (Kilobytes(text, "VmRSS:"u8) * 1024, Kilobytes(text, "VmLck:"u8) * 1024);
    }

    /// <summary>The value of a "Name:   1234 kB" line; 0 when the line is absent.</summary>
    private static long Kilobytes(ReadOnlySpan<byte> status, ReadOnlySpan<byte> name)
    {
        int at = status.IndexOf(name);
        if (at < 0)
        {
            return 0;
        }

        ReadOnlySpan<byte> rest = status[(at + name.Length)..];
        int end = rest.IndexOf((byte)'\n');
        rest = (end < 0 ? rest : rest[..end]).Trim(" \t"u8);
        if (rest.EndsWith("kB"u8))
        {
            rest = rest[..^2].TrimEnd(" "u8);
        }

        return System.Buffers.Text.Utf8Parser.TryParse(rest, out long value, out _) ? value : 0;
    }
}
