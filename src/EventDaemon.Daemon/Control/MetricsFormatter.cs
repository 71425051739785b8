using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EventDaemon.Daemon.Metrics;

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
    /// <c>metrics</c>: the Prometheus text exposition format 0.0.4, with <c># HELP</c> and
    /// <c># TYPE</c> before each family (also before a labelled family with no series yet).
    /// </summary>
    public static string Prometheus(IReadOnlyList<MetricFamily> families)
    {
        Validate(families);
        var text = new StringBuilder(families.Count * 128);
        foreach (MetricFamily family in families)
        {
            text.Append("# HELP ").Append(family.Name).Append(' ');
            AppendEscapedHelp(text, family.Help);
            text.Append('\n');
            text.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type).Append('\n');
            AppendSamples(text, family);
        }

        return text.ToString();
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

    private static void AppendSamples(StringBuilder text, MetricFamily family)
    {
        foreach (MetricSample sample in family.Samples)
        {
            text.Append(family.Name);
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
