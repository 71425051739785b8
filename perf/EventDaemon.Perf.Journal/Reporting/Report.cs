using System.Globalization;
using System.Text;
using System.Text.Json;
using EventDaemon.Perf.Journal.Format;
using EventDaemon.Perf.Journal.Running;
using HdrHistogram;

namespace EventDaemon.Perf.Journal.Reporting;

/// <summary>Writes the merged results as artifacts/bench/journal.json and a markdown table.</summary>
internal static class Report
{
    public static void Write(RunSettings settings, IReadOnlyList<MethodResult> methods, string jsonPath, string markdownPath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
        WriteJson(settings, methods, jsonPath);
        string table = Markdown(settings, methods);
        File.WriteAllText(markdownPath, table);
        Console.WriteLine();
        Console.Write(table);
        Console.WriteLine($"results written to {jsonPath} and {markdownPath}");
    }

    private static void WriteJson(RunSettings settings, IReadOnlyList<MethodResult> methods, string path)
    {
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("benchmark", "journal");
        json.WriteString("date", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
        json.WriteNumber("cpus", Environment.ProcessorCount);
        json.WriteString("directory", Path.GetFullPath(settings.Directory));
        json.WriteNumber("record_bytes", EventCorpus.RecordBytes);
        json.WriteNumber("event_bytes", EventCorpus.EventBytes);
        json.WriteNumber("flat_group_records", RunSettings.FlatGroupRecords);
        json.WriteNumber("flat_segment_bytes", settings.FlatSegmentBytes);
        json.WriteNumber("flat_seconds", settings.FlatSeconds);
        json.WriteNumber("inline_sync_records", RunSettings.InlineSyncRecords);
        json.WriteNumber("paced_rate", RunSettings.PacedRate);
        json.WriteNumber("paced_seconds", settings.PacedSeconds);
        json.WriteNumber("rounds", settings.Rounds);
        json.WriteStartArray("methods");
        foreach (MethodResult m in methods)
        {
            json.WriteStartObject();
            json.WriteString("method", m.Name);
            json.WriteString("description", m.Description);
            json.WriteBoolean("pre_zeroed", m.PreZeroed);
            json.WriteNumber("zeroing_mb_per_second", Math.Round(m.ZeroingMegabytesPerSecond));
            json.WriteStartObject("flat_out_records_per_second");
            FlatOut(json, "group_commit", m.GroupCommit);
            FlatOut(json, "never", m.Never);
            FlatOut(json, "inline_sync", m.Inline);
            json.WriteEndObject();
            json.WriteStartObject("paced");
            json.WriteNumber("records", m.PacedRecords);
            json.WriteNumber("syncs", m.PacedSyncs);
            json.WriteNumber("records_per_sync", Math.Round(m.PacedSyncs == 0 ? 0 : (double)m.PacedRecords / m.PacedSyncs, 2));
            json.WriteNumber("writer_stalls", m.PacedStalls);
            Percentiles(json, "durable_since_write_us", m.SinceWrite);
            Percentiles(json, "durable_since_arrival_us", m.SinceArrival);
            Percentiles(json, "sync_us", m.PacedSyncTimes);
            Percentiles(json, "baseline_fdatasync_4k_us", m.Baseline);
            json.WriteNumber("p50_over_baseline_p50", Math.Round(Ratio(m.SinceWrite, m.Baseline, 50), 2));
            json.WriteNumber("p99_over_baseline_p99", Math.Round(Ratio(m.SinceWrite, m.Baseline, 99), 2));
            json.WriteEndObject();
            json.WriteNumber("writer_allocated_bytes", m.WriterAllocatedBytes);
            json.WriteNumber("syncer_allocated_bytes", m.SyncerAllocatedBytes);
            json.WriteString("read_back", m.Problem ?? "ok");
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void FlatOut(Utf8JsonWriter json, string name, RunResult? run)
    {
        if (run is null)
        {
            return;
        }

        json.WriteStartObject(name);
        json.WriteNumber("records_per_second", Math.Round(run.Writer.RecordsPerSecond));
        json.WriteNumber("mb_per_second", Math.Round(run.Writer.Bytes / 1e6 / (run.Writer.ElapsedNs / 1e9)));
        json.WriteNumber("records", run.Writer.Records);
        json.WriteNumber("seconds", Math.Round(run.Writer.ElapsedNs / 1e9, 3));
        long syncs = run.Mode == SyncMode.Inline ? run.Writer.InlineSyncs : run.Syncer.Syncs;
        json.WriteNumber("syncs", syncs);
        if (run.Mode == SyncMode.GroupCommit)
        {
            json.WriteNumber("records_per_sync", Math.Round(run.Syncer.RecordsPerSync));
            json.WriteNumber("sync_p50_us", Us(run.Syncer.SyncTimes!.GetValueAtPercentile(50)));
        }

        json.WriteEndObject();
    }

    private static void Percentiles(Utf8JsonWriter json, string name, LongHistogram histogram)
    {
        json.WriteStartObject(name);
        json.WriteNumber("p50", Us(histogram.GetValueAtPercentile(50)));
        json.WriteNumber("p99", Us(histogram.GetValueAtPercentile(99)));
        json.WriteNumber("p99_9", Us(histogram.GetValueAtPercentile(99.9)));
        json.WriteNumber("max", Us(histogram.GetMaxValue()));
        json.WriteEndObject();
    }

    private static double Ratio(LongHistogram latency, LongHistogram baseline, double percentile) =>
        (double)latency.GetValueAtPercentile(percentile) / Math.Max(1, baseline.GetValueAtPercentile(percentile));

    private static double Us(long ns) => Math.Round(ns / 1000.0, 1);

    private static string Markdown(RunSettings settings, IReadOnlyList<MethodResult> methods)
    {
        var md = new StringBuilder();
        CultureInfo c = CultureInfo.InvariantCulture;
        md.AppendLine(c, $"Journal write path, {Environment.ProcessorCount} CPUs, {EventCorpus.EventBytes}-byte JSON events → " +
            $"{EventCorpus.RecordBytes}-byte records, {settings.Rounds} round(s), segments in {Path.GetFullPath(settings.Directory)}.");
        md.AppendLine();
        md.AppendLine(c, $"Flat out (groups of {RunSettings.FlatGroupRecords} records, up to {settings.FlatSeconds:0.#} s or a " +
            $"{settings.FlatSegmentBytes >> 20} MiB segment): M records/s written by the writer thread, best of the rounds.");
        md.AppendLine();
        md.AppendLine(c, $"| method | group commit (syncer back to back) | records per sync | sync p50 µs | no sync | writer syncs every {RunSettings.InlineSyncRecords} | writer B allocated |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (MethodResult m in methods)
        {
            md.AppendLine(c, $"| {m.Name} | {Rate(m.GroupCommit)} | {m.GroupCommit?.Syncer.RecordsPerSync ?? 0:0} | " +
                $"{(m.GroupCommit is null ? 0 : Us(m.GroupCommit.Syncer.SyncTimes!.GetValueAtPercentile(50))):0} | " +
                $"{Rate(m.Never)} | {Rate(m.Inline)} | {m.WriterAllocatedBytes} |");
        }

        md.AppendLine();
        md.AppendLine(c, $"Paced at {RunSettings.PacedRate / 1000}k records/s for {settings.PacedSeconds:0.#} s: time to durable in µs " +
            $"(durable time − the write time stamped on the record's group; \"since arrival\" counts from when the event was due), " +
            $"against a bare 4 KiB pwrite + fdatasync measured just before each method's run.");
        md.AppendLine();
        md.AppendLine("| method | p50 | p99 | p99.9 | max | since arrival p50 / p99 | records per sync | sync p50 | baseline p50 / p99 | p50 ÷ baseline p50 | p99 ÷ baseline p99 |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (MethodResult m in methods)
        {
            md.AppendLine(c, $"| {m.Name} | {P(m.SinceWrite, 50)} | {P(m.SinceWrite, 99)} | {P(m.SinceWrite, 99.9)} | {Us(m.SinceWrite.GetMaxValue()):0} | " +
                $"{P(m.SinceArrival, 50)} / {P(m.SinceArrival, 99)} | {(m.PacedSyncs == 0 ? 0 : (double)m.PacedRecords / m.PacedSyncs):0.0} | " +
                $"{P(m.PacedSyncTimes, 50)} | {P(m.Baseline, 50)} / {P(m.Baseline, 99)} | " +
                $"{Ratio(m.SinceWrite, m.Baseline, 50):0.00}× | {Ratio(m.SinceWrite, m.Baseline, 99):0.00}× |");
        }

        md.AppendLine();
        foreach (MethodResult m in methods)
        {
            md.AppendLine(c, $"- {m.Name}: {m.Description}; segments read back: {m.Problem ?? "every record checked"}.");
        }

        return md.ToString();
    }

    private static string Rate(RunResult? run) =>
        run is null ? "–" : (run.Writer.RecordsPerSecond / 1e6).ToString("0.00", CultureInfo.InvariantCulture);

    private static string P(LongHistogram histogram, double percentile) =>
        Us(histogram.GetValueAtPercentile(percentile)).ToString("0", CultureInfo.InvariantCulture);
}
