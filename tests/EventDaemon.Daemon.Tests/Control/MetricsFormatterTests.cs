using System.Globalization;
using System.Text.Json;
using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Hosting;
using EventDaemon.Daemon.Metrics;
using EventDaemon.Stages.Metrics;
using Xunit;

namespace EventDaemon.Daemon.Tests.Control;

public class MetricsFormatterTests
{
    [Fact]
    public void Text_PrintsOneSampleLinePerSeries_InFamilyAndLabelOrder()
    {
        string text = MetricsFormatter.Text(SampleFamilies.Basic());
        Assert.True(text == SampleFamilies.BasicText, $"stats text differs from the documented shape:\n{text}");
    }

    [Fact]
    public void Text_LabelledFamilyWithNoSeriesYet_PrintsNothing()
    {
        string text = MetricsFormatter.Text([new MetricFamily("events_dropped_total", "counter", "Dropped.")]);
        Assert.True(text.Length == 0, $"a family with no samples printed: '{text}'");
    }

    [Fact]
    public void Text_EscapesBackslashQuoteAndNewlineInLabelValues()
    {
        MetricFamily family = new MetricFamily("escaped", "gauge", "Escaping.").Add(1, ("path", "C:\\dir \"x\"\nnext"), ("plain", "é"));
        string text = MetricsFormatter.Text([family]);
        const string Expected = "escaped{path=\"C:\\\\dir \\\"x\\\"\\nnext\",plain=\"é\"} 1\n";
        Assert.True(text == Expected, $"label value not escaped as Prometheus does: {text}");
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(42.0, "42")]
    [InlineData(-7.0, "-7")]
    [InlineData(1e15, "1000000000000000")]
    [InlineData(4294967296.0, "4294967296")]
    [InlineData(0.1, "0.1")]
    [InlineData(12.5, "12.5")]
    [InlineData(1.0 / 3.0, "0.3333333333333333")]
    [InlineData(1e-7, "1E-07")]
    [InlineData(1e20, "1E+20")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    public void FormatValue_PrintsIntegersPlain_FractionsShortestRoundTrip_AndNonFiniteAsPrometheus(double value, string expected)
    {
        string printed = MetricsFormatter.FormatValue(value);
        Assert.True(printed == expected, $"{value:R} printed as '{printed}', expected '{expected}'");
        if (double.IsFinite(value))
        {
            double parsed = double.Parse(printed, NumberStyles.Float, CultureInfo.InvariantCulture);
            Assert.True(parsed == value, $"'{printed}' reads back as {parsed:R}, not {value:R}");
        }
    }

    [Fact]
    public void FormatValue_NegativeZero_PrintsAsZero()
    {
        string printed = MetricsFormatter.FormatValue(-0.0);
        Assert.True(printed == "0", $"-0.0 printed as '{printed}'");
    }

    [Fact]
    public void Text_UsesInvariantNumbersWhateverTheCurrentCulture()
    {
        CultureInfo saved = CultureInfo.CurrentCulture;
        try
        {
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            string text = MetricsFormatter.Text([new MetricFamily("ratio", "gauge", "Ratio.").Add(0.25)]);
            Assert.True(text == "ratio 0.25\n", $"number printed with the current culture: {text}");
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Json_IsOneObject_UnlabelledAsNumbers_LabelledAsArraysOfLabelsAndValue()
    {
        using JsonDocument json = JsonDocument.Parse(MetricsFormatter.Json(SampleFamilies.Basic()));
        JsonElement root = json.RootElement;
        Assert.True(root.ValueKind == JsonValueKind.Object, $"stats json is a {root.ValueKind}, not an object");

        string[] names = [.. root.EnumerateObject().Select(p => p.Name)];
        string[] expectedNames = ["uptime_seconds", "events_received_total", "events_invalid_total", "events_dropped_total", "latency_ns", "ring_capacity"];
        Assert.True(names.SequenceEqual(expectedNames), $"names or their order differ: {string.Join(", ", names)}");

        Assert.True(root.GetProperty("uptime_seconds").GetDouble() == 12.5, "uptime_seconds is not the number 12.5");
        Assert.True(root.GetProperty("ring_capacity").GetRawText() == "65536", $"integers must print without a decimal point: {root.GetProperty("ring_capacity").GetRawText()}");

        JsonElement received = root.GetProperty("events_received_total");
        Assert.True(received.ValueKind == JsonValueKind.Array && received.GetArrayLength() == 2, $"labelled family is not an array of 2: {received.GetRawText()}");
        Assert.True(received[0].GetProperty("source").GetString() == "in" && received[0].GetProperty("value").GetRawText() == "1234", $"first series wrong: {received[0].GetRawText()}");
        Assert.True(received[1].GetProperty("source").GetString() == "udp" && received[1].GetProperty("value").GetRawText() == "0", $"second series wrong: {received[1].GetRawText()}");

        JsonElement invalid = root.GetProperty("events_invalid_total")[0];
        string[] keys = [.. invalid.EnumerateObject().Select(p => p.Name)];
        Assert.True(keys.SequenceEqual(["source", "reason", "value"]), $"labels must come in print order, then value: {string.Join(", ", keys)}");

        Assert.True(root.GetProperty("latency_ns")[1].GetProperty("value").GetRawText() == "2500000", "latency max must print as an integer");
    }

    [Fact]
    public void Json_FamilyWithNoSamplesYet_IsEmptyArray()
    {
        using JsonDocument json = JsonDocument.Parse(MetricsFormatter.Json(SampleFamilies.Basic()));
        JsonElement dropped = json.RootElement.GetProperty("events_dropped_total");
        Assert.True(dropped.ValueKind == JsonValueKind.Array && dropped.GetArrayLength() == 0, $"a family with no samples must be []: {dropped.GetRawText()}");
    }

    [Fact]
    public void Json_NonFiniteValues_AreNull_AndFractionsRoundTrip()
    {
        IReadOnlyList<MetricFamily> families =
        [
            new MetricFamily("nan", "gauge", "h").Add(double.NaN),
            new MetricFamily("inf", "gauge", "h").Add(double.PositiveInfinity, ("stage", "a")),
            new MetricFamily("third", "gauge", "h").Add(1.0 / 3.0),
        ];
        using JsonDocument json = JsonDocument.Parse(MetricsFormatter.Json(families));
        JsonElement root = json.RootElement;
        Assert.True(root.GetProperty("nan").ValueKind == JsonValueKind.Null, "NaN must be written as null");
        Assert.True(root.GetProperty("inf")[0].GetProperty("value").ValueKind == JsonValueKind.Null, "+Inf must be written as null");
        Assert.True(root.GetProperty("third").GetDouble() == 1.0 / 3.0, "a fraction must read back exactly");
    }

    [Fact]
    public void Json_LabelValuesWithQuotesAndNewlines_ReadBackUnchanged()
    {
        const string Awkward = "C:\\dir \"x\"\nnext <&> é";
        using JsonDocument json = JsonDocument.Parse(MetricsFormatter.Json([new MetricFamily("m", "gauge", "h").Add(1, ("path", Awkward))]));
        string? read = json.RootElement.GetProperty("m")[0].GetProperty("path").GetString();
        Assert.True(read == Awkward, $"label value came back as '{read}'");
    }

    [Fact]
    public void Prometheus_PrefixesEveryFamily_WithHelpAndType_AfterBuildInfo()
    {
        IReadOnlyList<MetricFamily> families =
        [
            new MetricFamily("uptime_seconds", "gauge", "Seconds since start.").Add(12.5),
            new MetricFamily("events_received_total", "counter", "Events received.").Add(7, ("source", "in")),
            new MetricFamily("bytes_received_total", "counter", "Bytes received.").Add(70, ("source", "in")),
            new MetricFamily("events_dropped_total", "counter", "Events dropped."),
        ];
        string expected =
            "# HELP eventd_build_info The version and commit of the running eventd; always 1.\n" +
            "# TYPE eventd_build_info gauge\n" +
            $"eventd_build_info{{version=\"{BuildInfo.Version}\",commit=\"{BuildInfo.Commit}\"}} 1\n" +
            "# HELP eventd_uptime_seconds Seconds since start.\n" +
            "# TYPE eventd_uptime_seconds gauge\n" +
            "eventd_uptime_seconds 12.5\n" +
            "# HELP eventd_events_received_total Events received.\n" +
            "# TYPE eventd_events_received_total counter\n" +
            "eventd_events_received_total{source=\"in\"} 7\n" +
            "# HELP eventd_received_bytes_total Bytes received.\n" +
            "# TYPE eventd_received_bytes_total counter\n" +
            "eventd_received_bytes_total{source=\"in\"} 70\n" +
            "# HELP eventd_events_dropped_total Events dropped.\n" +
            "# TYPE eventd_events_dropped_total counter\n" +
            "# HELP eventd_stage_latency_seconds Ingest to stage-done latency since start (transforms time one event in 64 and each batch's last; sinks every event).\n" +
            "# TYPE eventd_stage_latency_seconds histogram\n";
        string text = MetricsFormatter.Prometheus(families);
        Assert.True(text == expected, $"exposition differs:\n{text}");
    }

    [Fact]
    public void Prometheus_LeavesOutLatencyQuantiles_ForTheHistogram()
    {
        string text = MetricsFormatter.Prometheus(SampleFamilies.Basic());
        Assert.True(!text.Contains("latency_ns", StringComparison.Ordinal) && !text.Contains("quantile", StringComparison.Ordinal),
            $"the lifetime quantiles of stats must not reach Prometheus, which cannot aggregate them:\n{text}");
    }

    [Fact]
    public void Prometheus_LatencyHistogram_HasCumulativeBucketsInSeconds_SumAndCount()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(500);           // 0.5 µs: in every bucket from le=1e-6 up
        histogram.Record(3_000_000);     // 3 ms: from le=0.005 up
        histogram.Record(20_000_000_000); // 20 s: only +Inf
        string text = MetricsFormatter.Prometheus([], [new StageLatency("per_user", histogram)]);
        string[] lines = text.Split('\n');
        string Sample(string name) => lines.Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));

        Assert.True(Sample("eventd_stage_latency_seconds_bucket{stage=\"per_user\",le=\"0.000001\"}").EndsWith(" 1", StringComparison.Ordinal), text);
        Assert.True(Sample("eventd_stage_latency_seconds_bucket{stage=\"per_user\",le=\"0.0025\"}").EndsWith(" 1", StringComparison.Ordinal), $"3 ms counted at or under 2.5 ms:\n{text}");
        Assert.True(Sample("eventd_stage_latency_seconds_bucket{stage=\"per_user\",le=\"0.005\"}").EndsWith(" 2", StringComparison.Ordinal), $"3 ms not counted under 5 ms:\n{text}");
        Assert.True(Sample("eventd_stage_latency_seconds_bucket{stage=\"per_user\",le=\"10\"}").EndsWith(" 2", StringComparison.Ordinal), $"20 s counted under 10 s:\n{text}");
        Assert.True(Sample("eventd_stage_latency_seconds_bucket{stage=\"per_user\",le=\"+Inf\"}").EndsWith(" 3", StringComparison.Ordinal), $"+Inf must hold every event:\n{text}");
        Assert.True(Sample("eventd_stage_latency_seconds_count{stage=\"per_user\"}").EndsWith(" 3", StringComparison.Ordinal), $"count differs from +Inf:\n{text}");
        Assert.True(Sample("eventd_stage_latency_seconds_sum{stage=\"per_user\"}") == "eventd_stage_latency_seconds_sum{stage=\"per_user\"} " + MetricsFormatter.FormatValue(20_003_000_500 / 1e9),
            $"the sum must be the exact total in seconds:\n{text}");
        Assert.True(lines.Count(l => l.StartsWith("eventd_stage_latency_seconds_bucket", StringComparison.Ordinal)) == 23, $"22 bounds and +Inf per stage:\n{text}");
    }

    [Fact]
    public void CumulativeCounts_NeverCountsAValueAboveItsBound()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1_000);
        histogram.Record(1_001);
        histogram.Record(999);
        Span<long> cumulative = stackalloc long[2];
        long total = histogram.CumulativeCounts([999, 1_000_000], cumulative);
        Assert.True(total == 3, $"total {total}, expected 3");
        Assert.True(cumulative[0] <= 1, $"le=999 ns counted {cumulative[0]} values, but only one is at or below it");
        Assert.True(cumulative[1] == 3, $"le=1 ms counted {cumulative[1]}, expected all 3");
    }

    [Fact]
    public void Prometheus_OfEveryKindOfFamily_PassesPromtoolCheckMetrics()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(12_345);
        IReadOnlyList<MetricFamily> families =
        [
            .. SampleFamilies.Basic(),
            new MetricFamily("bytes_received_total", "counter", "Bytes read from the network.").Add(10, ("source", "in")),
            new MetricFamily("gc_pause_seconds_total", "counter", "Time the runtime was paused for collections.").Add(0.25),
            new MetricFamily("events_per_second", "gauge", "Events received per second, all sources.").Add(3, ("window", "1s")),
        ];
        string text = MetricsFormatter.Prometheus(families, [new StageLatency("per_user", histogram), new StageLatency("out", new LatencyHistogram())]);
        (int exit, string stdout, string stderr) = Tool.Run("promtool", text, "check", "metrics");
        Assert.True(exit == 0 && stdout.Length == 0 && stderr.Length == 0, $"promtool check metrics exited {exit}:\n{stdout}{stderr}\non:\n{text}");
    }

    [Fact]
    public void Prometheus_EscapesBackslashAndNewlineInHelp_ButNotQuotes()
    {
        string text = MetricsFormatter.Prometheus([new MetricFamily("m", "gauge", "a \\ b\n\"c\"").Add(1)]);
        Assert.True(text.Contains("# HELP eventd_m a \\\\ b\\n\"c\"\n", StringComparison.Ordinal), $"HELP not escaped as the 0.0.4 format says: {text}");
    }

    [Fact]
    public void EveryFormat_RefusesFamilyMixingLabelledAndUnlabelledSamples()
    {
        IReadOnlyList<MetricFamily> mixed = [new MetricFamily("events_received_total", "counter", "h").Add(5).Add(5, ("source", "in"))];
        AssertEveryFormatThrows(mixed, "mixes labelled and unlabelled");
    }

    [Fact]
    public void EveryFormat_RefusesNameListedTwice()
    {
        IReadOnlyList<MetricFamily> twice = [new MetricFamily("a", "gauge", "h").Add(1), new MetricFamily("a", "gauge", "h").Add(2)];
        AssertEveryFormatThrows(twice, "listed twice");
    }

    [Fact]
    public void EveryFormat_RefusesTwoUnlabelledSamplesOfOneName()
    {
        IReadOnlyList<MetricFamily> doubled = [new MetricFamily("a", "gauge", "h").Add(1).Add(2)];
        AssertEveryFormatThrows(doubled, "unlabelled samples");
    }

    [Fact]
    public void EveryFormat_RefusesLabelNamedValue_WhichStatsJsonReserves()
    {
        IReadOnlyList<MetricFamily> reserved = [new MetricFamily("a", "gauge", "h").Add(1, ("value", "x"))];
        AssertEveryFormatThrows(reserved, "'value'");
    }

    private static void AssertEveryFormatThrows(IReadOnlyList<MetricFamily> families, string messagePart)
    {
        foreach ((string format, Func<IReadOnlyList<MetricFamily>, string> print) in new (string, Func<IReadOnlyList<MetricFamily>, string>)[]
                 {
                     ("text", MetricsFormatter.Text), ("json", MetricsFormatter.Json), ("prometheus", MetricsFormatter.Prometheus),
                 })
        {
            InvalidOperationException? thrown = null;
            try
            {
                print(families);
            }
            catch (InvalidOperationException e)
            {
                thrown = e;
            }

            Assert.True(thrown is not null, $"{format} printed families it should have refused");
            Assert.True(thrown!.Message.Contains(messagePart, StringComparison.Ordinal), $"{format}: message '{thrown.Message}' does not say '{messagePart}'");
        }
    }
}
