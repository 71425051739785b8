using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Stages.Metrics;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// Prints metric families the three ways the control socket offers them: <c>stats</c>,
/// <c>stats json</c> and <c>metrics</c>. The shapes are documented in <c>Control/STATS.md</c>;
/// operators script against them, so change them only by adding.
/// </summary>
/// <remarks>
/// Cold path: these run once per command on a control thread and allocate freely. Every method
/// first checks the families (<see cref="InvalidOperationException"/> when a name repeats, a family
/// mixes labelled and unlabelled samples, or an unlabelled family has more than one sample), so a
/// labelled name can never also be printed as an unlabelled total.
/// </remarks>
public static class MetricsFormatter
{
    private const double TwoToThe63 = 9223372036854775808.0;

    /// <summary>
    /// Label values are escaped but kept readable (no \u escapes for non-ASCII or for
    /// <c>&lt;</c>, <c>&amp;</c>, <c>+</c>): the output goes to terminals and jq, never into HTML.
    /// </summary>
    private static readonly JsonWriterOptions JsonOptions = new()
    {
        Indented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// <c>stats</c>: one sample per line in Prometheus sample syntax, without <c># HELP</c> and
    /// <c># TYPE</c>: <c>name value</c> or <c>name{label="v",label2="w"} value</c>.
    /// </summary>
    public static string Text(IReadOnlyList<MetricFamily> families)
    {
        Validate(families);
        var text = new StringBuilder(families.Count * 48);
        foreach (MetricFamily family in families)
        {
            AppendSamples(text, family);
        }

        return text.ToString();
    }

    /// <summary>
    /// <c>metrics</c>: the Prometheus text exposition format 0.0.4, for a scraper and
    /// <c>promtool check metrics</c>: <c>eventd_build_info</c> first, then every <c>stats</c>
    /// family under its Prometheus name (<see cref="PrometheusName"/>) with <c># HELP</c> and
    /// <c># TYPE</c> (also a labelled family with no series yet), then
    /// <c>eventd_stage_latency_seconds</c>, a histogram per stage, in place of <c>latency_ns</c>,
    /// whose quantiles since start cannot be aggregated across stages or daemons.
    /// </summary>
    /// <param name="journalSync">The journal's sync times, written as the <c>eventd_journal_sync_seconds</c>
    /// histogram in place of <c>journal_sync_seconds</c>'s quantiles; null without a journal.</param>
    public static string Prometheus(IReadOnlyList<MetricFamily> families, IReadOnlyList<StageLatency> latency, LatencyHistogram? journalSync = null)
    {
        ArgumentNullException.ThrowIfNull(latency);
        Validate(families);
        var text = new StringBuilder((families.Count * 160) + (latency.Count * LatencyBuckets.Length * 64));
        AppendHeader(text, BuildInfoName, "gauge", "The version and commit of the running eventd; always 1.");
        text.Append(BuildInfoName).Append("{version=\"");
        AppendEscapedLabelValue(text, BuildInfo.Version);
        text.Append("\",commit=\"");
        AppendEscapedLabelValue(text, BuildInfo.Commit);
        text.Append("\"} 1\n");

        foreach (MetricFamily family in families)
        {
            if (PrometheusName(family.Name) is not { } name)
            {
                continue;
            }

            AppendHeader(text, name, family.Type, family.Help);
            AppendSamples(text, family, name);
        }

        AppendHeader(text, LatencyName, "histogram",
            "Ingest to stage-done latency since start (transforms time one event in 64 and each batch's last; sinks every event).");
        foreach (StageLatency stage in latency)
        {
            AppendHistogram(text, LatencyName, stage.Stage, stage.Histogram);
        }

        if (journalSync is not null)
        {
            AppendHeader(text, JournalSyncName, "histogram", "Time one journal fdatasync took, since start.");
            AppendHistogram(text, JournalSyncName, stage: null, journalSync);
        }

        return text.ToString();
    }

    /// <summary>The cumulative <c>_bucket</c> series, <c>_sum</c> and <c>_count</c> of one histogram (a <c>stage</c> label when given).</summary>
    private static void AppendHistogram(StringBuilder text, string name, string? stage, LatencyHistogram histogram)
    {
        Span<long> cumulative = stackalloc long[LatencyBuckets.Length];
        long count = histogram.CumulativeCounts(LatencyBucketNanos, cumulative);
        for (int b = 0; b < LatencyBuckets.Length; b++)
        {
            AppendSample(text, name, "_bucket", stage, LatencyBuckets[b].Label).Append(cumulative[b].ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        AppendSample(text, name, "_bucket", stage, "+Inf").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
        AppendSample(text, name, "_sum", stage, null).Append(FormatValue(histogram.Sum / 1e9)).Append('\n');
        AppendSample(text, name, "_count", stage, null).Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <inheritdoc cref="Prometheus(IReadOnlyList{MetricFamily}, IReadOnlyList{StageLatency})"/>
    public static string Prometheus(IReadOnlyList<MetricFamily> families) => Prometheus(families, []);

    /// <summary>
    /// The Prometheus name of a <c>stats</c> family: <c>eventd_</c> and the same name, except
    /// <c>bytes_received_total</c>, which becomes <c>eventd_received_bytes_total</c> (the unit before
    /// <c>_total</c>, as Prometheus names read); null for <c>latency_ns</c> and
    /// <c>journal_sync_seconds</c>, which the histograms <c>eventd_stage_latency_seconds</c> and
    /// <c>eventd_journal_sync_seconds</c> replace.
    /// </summary>
    public static string? PrometheusName(string statsName) => statsName switch
    {
        "latency_ns" or "journal_sync_seconds" => null,
        "bytes_received_total" => "eventd_received_bytes_total",
        _ => Prefix + statsName,
    };

    private const string Prefix = "eventd_";
    private const string BuildInfoName = "eventd_build_info";
    private const string LatencyName = "eventd_stage_latency_seconds";
    private const string JournalSyncName = "eventd_journal_sync_seconds";

    /// <summary>
    /// The <c>le</c> bounds of the latency histogram: 1-2.5-5 steps from 1 µs (a fused filter on
    /// an idle machine) to 10 s (a sink retrying a dead peer), 22 buckets per stage. Written out as
    /// Prometheus labels, in seconds, so no float formatting can make two spellings of one bound.
    /// </summary>
    private static readonly (long Nanos, string Label)[] LatencyBuckets =
    [
        (1_000, "0.000001"), (2_500, "0.0000025"), (5_000, "0.000005"),
        (10_000, "0.00001"), (25_000, "0.000025"), (50_000, "0.00005"),
        (100_000, "0.0001"), (250_000, "0.00025"), (500_000, "0.0005"),
        (1_000_000, "0.001"), (2_500_000, "0.0025"), (5_000_000, "0.005"),
        (10_000_000, "0.01"), (25_000_000, "0.025"), (50_000_000, "0.05"),
        (100_000_000, "0.1"), (250_000_000, "0.25"), (500_000_000, "0.5"),
        (1_000_000_000, "1"), (2_500_000_000, "2.5"), (5_000_000_000, "5"), (10_000_000_000, "10"),
    ];

    private static readonly long[] LatencyBucketNanos = Array.ConvertAll(LatencyBuckets, b => b.Nanos);

    private static void AppendHeader(StringBuilder text, string name, string type, string help)
    {
        text.Append("# HELP ").Append(name).Append(' ');
        AppendEscapedHelp(text, help);
        text.Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary><c>NAME{suffix}{stage="s",le="b"} </c> (each label only when given), ready for the value.</summary>
    private static StringBuilder AppendSample(StringBuilder text, string name, string suffix, string? stage, string? le)
    {
        text.Append(name).Append(suffix);
        if (stage is null && le is null)
        {
            return text.Append(' ');
        }

        text.Append('{');
        if (stage is not null)
        {
            text.Append("stage=\"");
            AppendEscapedLabelValue(text, stage);
            text.Append('"');
        }

        if (le is not null)
        {
            text.Append(stage is null ? "" : ",").Append("le=\"").Append(le).Append('"');
        }

        return text.Append("} ");
    }

    /// <summary>
    /// <c>stats json</c>: one object. An unlabelled family is <c>"name": value</c>; a labelled one
    /// (or one with no samples yet) is <c>"name": [{"label": "v", ..., "value": n}, ...]</c>.
    /// NaN and ±Inf, which JSON cannot spell, are written as <c>null</c>.
    /// </summary>
    public static string Json(IReadOnlyList<MetricFamily> families)
    {
        Validate(families);
        var buffer = new ArrayBufferWriter<byte>(families.Count * 64);
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            foreach (MetricFamily family in families)
            {
                List<MetricSample> samples = family.Samples;
                if (samples.Count == 1 && samples[0].Labels.Length == 0)
                {
                    json.WritePropertyName(family.Name);
                    WriteJsonValue(json, samples[0].Value);
                    continue;
                }

                json.WriteStartArray(family.Name);
                foreach (MetricSample sample in samples)
                {
                    json.WriteStartObject();
                    foreach ((string name, string value) in sample.Labels)
                    {
                        json.WriteString(name, value);
                    }

                    json.WritePropertyName("value");
                    WriteJsonValue(json, sample.Value);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    /// <summary>
    /// A sample value as Prometheus spells it: integers without a decimal point, other finite
    /// values in the shortest form that round-trips (invariant culture), <c>NaN</c>, <c>+Inf</c>,
    /// <c>-Inf</c>.
    /// </summary>
    public static string FormatValue(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "+Inf" : "-Inf";
        }

        return IsPrintableAsInteger(value)
            ? ((long)value).ToString(CultureInfo.InvariantCulture)
            : value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Integral and inside [-2^63, 2^63), so the cast to long is exact; larger integral doubles
    /// keep the exponent form ("1E+20"), which Prometheus and JSON both read.
    /// </summary>
    private static bool IsPrintableAsInteger(double value) =>
        value == Math.Floor(value) && value >= -TwoToThe63 && value < TwoToThe63;

    private static void WriteJsonValue(Utf8JsonWriter json, double value)
    {
        if (!double.IsFinite(value))
        {
            json.WriteNullValue();
        }
        else if (IsPrintableAsInteger(value))
        {
            json.WriteNumberValue((long)value);
        }
        else
        {
            json.WriteNumberValue(value);
        }
    }

    private static void AppendSamples(StringBuilder text, MetricFamily family) => AppendSamples(text, family, family.Name);

    private static void AppendSamples(StringBuilder text, MetricFamily family, string name)
    {
        foreach (MetricSample sample in family.Samples)
        {
            text.Append(name);
            if (sample.Labels.Length > 0)
            {
                text.Append('{');
                for (int i = 0; i < sample.Labels.Length; i++)
                {
                    if (i > 0)
                    {
                        text.Append(',');
                    }

                    text.Append(sample.Labels[i].Name).Append("=\"");
                    AppendEscapedLabelValue(text, sample.Labels[i].Value);
                    text.Append('"');
                }

                text.Append('}');
            }

            text.Append(' ').Append(FormatValue(sample.Value)).Append('\n');
        }
    }

    /// <summary>Prometheus label values: backslash, double quote and line feed are escaped.</summary>
    private static void AppendEscapedLabelValue(StringBuilder text, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': text.Append("\\\\"); break;
                case '"': text.Append("\\\""); break;
                case '\n': text.Append("\\n"); break;
                default: text.Append(c); break;
            }
        }
    }

    /// <summary>Prometheus HELP text: backslash and line feed are escaped, quotes are not.</summary>
    private static void AppendEscapedHelp(StringBuilder text, string help)
    {
        foreach (char c in help)
        {
            switch (c)
            {
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                default: text.Append(c); break;
            }
        }
    }

    private static void Validate(IReadOnlyList<MetricFamily> families)
    {
        var names = new HashSet<string>(families.Count, StringComparer.Ordinal);
        foreach (MetricFamily family in families)
        {
            if (!names.Add(family.Name))
            {
                throw new InvalidOperationException($"metric '{family.Name}' is listed twice");
            }

            int unlabelled = 0;
            foreach (MetricSample sample in family.Samples)
            {
                if (sample.Labels.Length == 0)
                {
                    unlabelled++;
                    continue;
                }

                foreach ((string name, _) in sample.Labels)
                {
                    // "value" is the key that holds the number in stats json.
                    if (name == "value")
                    {
                        throw new InvalidOperationException($"metric '{family.Name}' has a label named 'value', which stats json reserves");
                    }
                }
            }

            if (unlabelled > 0 && unlabelled != family.Samples.Count)
            {
                throw new InvalidOperationException($"metric '{family.Name}' mixes labelled and unlabelled samples");
            }

            if (unlabelled > 1)
            {
                throw new InvalidOperationException($"metric '{family.Name}' has {unlabelled} unlabelled samples; it can have one");
            }
        }
    }
}
