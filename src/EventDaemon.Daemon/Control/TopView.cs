using System.Globalization;
using System.Text;

namespace EventDaemon.Daemon.Control;

/// <summary>
/// Renders the frame of <c>eventd top</c> from two <see cref="TopSnapshot"/>s as plain lines (no
/// escape sequences): the terminal side adds cursor movement, and <c>--once</c> prints them as they are.
/// </summary>
/// <remarks>
/// The frame: a title line; the problems <c>health</c> reports (or <c>health ok</c>); ring and
/// arena fill; then one row per source, transform and sink with its rate, total, lag, drops,
/// errors and p50/p99 latency. Every line is cut to the width and rows beyond the height are
/// replaced by a count, so the frame never wraps or scrolls (80×24 over ssh).
/// </remarks>
public static class TopView
{
    /// <summary>The columns after NAME, each right-aligned, with one space before each.</summary>
    private static readonly (string Title, int Width)[] Columns =
    [
        ("KIND", 6), ("RATE/s", 8), ("TOTAL", 8), ("LAG", 7), ("DROPS", 7), ("ERRORS", 7), ("P50", 7), ("P99", 7),
    ];

    /// <summary>NAME is never narrower than this, so a row stays readable in a narrow terminal (the line is cut instead).</summary>
    private const int MinNameWidth = 8;

    /// <summary>At most this share of the height goes to problems, so the table stays in view when many stages fail.</summary>
    private const int ProblemShareOfHeight = 3;

    /// <summary>Shown where a value cannot be had: a rate without an earlier reading, a latency a source has no series for.</summary>
    private const string None = "-";

    /// <summary>
    /// The frame for <paramref name="current"/>, with rates over the time since
    /// <paramref name="previous"/> (<c>-</c> without one, or when the daemon restarted in between).
    /// </summary>
    /// <param name="title">What the title line names the daemon by: its socket path.</param>
    /// <param name="width">Columns: every line is cut to one less, so the cursor never wraps.</param>
    /// <param name="height">Rows: the frame has at most this many lines.</param>
    public static IReadOnlyList<string> Render(TopSnapshot current, TopSnapshot? previous, string title, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(title);
        double elapsed = previous is null ? 0 : current.Uptime - previous.Uptime;
        TopSnapshot? before = elapsed > 0 ? previous : null;

        var head = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"eventd top  {title}  up {Uptime(current.Uptime)}  in {Rate(current, before, elapsed, "events_received_total", "source", current.Sources)}/s  (q quits)"),
        };

        int problemRows = Math.Max(1, height / ProblemShareOfHeight);
        if (current.Problems.Count == 0)
        {
            head.Add("health ok");
        }
        else
        {
            int shown = current.Problems.Count <= problemRows ? current.Problems.Count : problemRows - 1;
            for (int i = 0; i < shown; i++)
            {
                head.Add("PROBLEM " + current.Problems[i]);
            }

            if (shown < current.Problems.Count)
            {
                head.Add(string.Create(CultureInfo.InvariantCulture, $"PROBLEM ... {current.Problems.Count - shown} more (eventd ctl health)"));
            }
        }

        head.Add(Fill(current));
        head.Add("");

        var rows = new List<string[]>();
        foreach (string source in current.Sources)
        {
            rows.Add(
            [
                source,
                "source",
                Delta(current, before, elapsed, "events_received_total", "source", source),
                Count(current.Sum("events_received_total", "source", source)),
                None,
                Count(current.Sum("events_dropped_total", "source", source)),
                Count(current.Sum("events_invalid_total", "source", source) + current.Sum("events_oversized_total", "source", source)),
                None,
                None,
            ]);
        }

        foreach (string stage in current.Transforms)
        {
            rows.Add(
            [
                stage,
                "stage",
                Delta(current, before, elapsed, "events_processed_total", "stage", stage),
                Count(current.Sum("events_processed_total", "stage", stage)),
                Count(current.Sum("stage_lag", "stage", stage)),
                Count(current.Sum("events_dropped_total", "stage", stage) + current.Sum("events_late_total", "stage", stage)),
                None,
                Latency(current, stage, "0.5"),
                Latency(current, stage, "0.99"),
            ]);
        }

        foreach (string sink in current.Sinks)
        {
            rows.Add(
            [
                sink,
                "sink",
                Delta(current, before, elapsed, "sink_events_written_total", "sink", sink),
                Count(current.Sum("sink_events_written_total", "sink", sink)),
                Count(current.Sum("stage_lag", "stage", sink)),
                Count(current.Sum("events_dropped_total", "stage", sink)),
                Count(current.Sum("sink_errors_total", "sink", sink)),
                Latency(current, sink, "0.5"),
                Latency(current, sink, "0.99"),
            ]);
        }

        int fixedWidth = 0;
        foreach ((string _, int w) in Columns)
        {
            fixedWidth += w + 1;
        }

        int longest = "NAME".Length;
        foreach (string[] row in rows)
        {
            longest = Math.Max(longest, row[0].Length);
        }

        // The name takes what the other columns leave, down to a floor; past it the line is cut.
        int nameWidth = Math.Max(MinNameWidth, Math.Min(longest, width - 1 - fixedWidth));
        var lines = new List<string>(head.Count + rows.Count + 1);
        lines.AddRange(head);
        lines.Add(Row(["NAME", .. Columns.Select(c => c.Title)], nameWidth));

        int room = height - lines.Count;
        int shownRows = rows.Count <= room ? rows.Count : Math.Max(0, room - 1);
        for (int i = 0; i < shownRows; i++)
        {
            lines.Add(Row(rows[i], nameWidth));
        }

        if (shownRows < rows.Count && room > 0)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"... {rows.Count - shownRows} more rows (a taller terminal shows them)"));
        }

        // Cut last, so a frame for a tiny terminal is still at most height lines of width - 1.
        int keep = Math.Min(lines.Count, Math.Max(0, height));
        var frame = new List<string>(keep);
        for (int i = 0; i < keep; i++)
        {
            frame.Add(Cut(lines[i], width - 1));
        }

        return frame;
    }

    /// <summary>A count in at most 7 characters: exact below 100 000, then k, M, G with three significant digits.</summary>
    public static string Count(double value)
    {
        if (double.IsNaN(value))
        {
            return None;
        }

        double magnitude = Math.Abs(value);
        return magnitude switch
        {
            < 100_000 => Math.Round(value).ToString("0", CultureInfo.InvariantCulture),
            < 1e6 => Scaled(value / 1e3, "k"),
            < 1e9 => Scaled(value / 1e6, "M"),
            < 1e12 => Scaled(value / 1e9, "G"),
            _ => Scaled(value / 1e12, "T"),
        };
    }

    /// <summary>A latency in nanoseconds as the nearest unit reads it: <c>850ns</c>, <c>44us</c>, <c>1.2ms</c>, <c>2.5s</c> (ASCII, for any terminal).</summary>
    public static string Duration(double nanoseconds)
    {
        if (double.IsNaN(nanoseconds) || nanoseconds < 0)
        {
            return None;
        }

        return nanoseconds switch
        {
            < 1e3 => nanoseconds.ToString("0", CultureInfo.InvariantCulture) + "ns",
            < 1e6 => Scaled(nanoseconds / 1e3, "us"),
            < 1e9 => Scaled(nanoseconds / 1e6, "ms"),
            _ => Scaled(nanoseconds / 1e9, "s"),
        };
    }

    private static string Scaled(double value, string unit)
    {
        double magnitude = Math.Abs(value);
        string format = magnitude < 10 ? "0.##" : magnitude < 100 ? "0.#" : "0";
        return value.ToString(format, CultureInfo.InvariantCulture) + unit;
    }

    private static string Uptime(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return span.TotalHours >= 24
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalDays}d{span.Hours:00}h")
            : span.TotalHours >= 1
                ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h{span.Minutes:00}m")
                : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}m{span.Seconds:00}s");
    }

    private static string Fill(TopSnapshot s)
    {
        double ring = s.Plain("ring_occupancy");
        double ringCapacity = s.Plain("ring_capacity");
        double arena = s.Plain("arena_used_bytes");
        double arenaCapacity = s.Plain("arena_capacity_bytes");
        return string.Create(
            CultureInfo.InvariantCulture,
            $"ring {Percent(ring, ringCapacity)} {Count(ring)}/{Count(ringCapacity)} slots   arena {Percent(arena, arenaCapacity)} {Bytes(arena)}/{Bytes(arenaCapacity)}");
    }

    private static string Percent(double part, double whole) =>
        whole > 0 ? (100 * part / whole).ToString("0.0", CultureInfo.InvariantCulture) + "%" : None;

    private static string Bytes(double bytes) => bytes switch
    {
        < 1024 => bytes.ToString("0", CultureInfo.InvariantCulture) + "B",
        < 1024 * 1024 => Scaled(bytes / 1024, "KiB"),
        < 1024 * 1024 * 1024 => Scaled(bytes / (1024 * 1024), "MiB"),
        _ => Scaled(bytes / (1024 * 1024 * 1024), "GiB"),
    };

    private static string Delta(TopSnapshot current, TopSnapshot? before, double elapsed, string family, string label, string name) =>
        before is null
            ? None
            : Count(Math.Max(0, current.Sum(family, label, name) - before.Sum(family, label, name)) / elapsed);

    private static string Rate(TopSnapshot current, TopSnapshot? before, double elapsed, string family, string label, IReadOnlyList<string> names)
    {
        if (before is null)
        {
            return None;
        }

        double delta = 0;
        foreach (string name in names)
        {
            delta += Math.Max(0, current.Sum(family, label, name) - before.Sum(family, label, name));
        }

        return Count(delta / elapsed);
    }

    private static string Latency(TopSnapshot s, string stage, string quantile) =>
        s.Find("latency_ns", "stage", stage, "quantile", quantile) is { } ns ? Duration(ns) : None;

    private static string Row(string[] cells, int nameWidth)
    {
        var line = new StringBuilder(nameWidth + 64);
        line.Append(Cut(cells[0], nameWidth).PadRight(nameWidth));
        for (int i = 0; i < Columns.Length; i++)
        {
            line.Append(' ');
            string cell = cells[i + 1];
            line.Append(i == 0 ? cell.PadRight(Columns[i].Width) : cell.PadLeft(Columns[i].Width));
        }

        return line.ToString().TrimEnd();
    }

    /// <summary>Cuts to <paramref name="width"/> characters, the last one a <c>~</c> when something was cut.</summary>
    private static string Cut(string text, int width) =>
        width <= 0 ? "" : text.Length <= width ? text : string.Concat(text.AsSpan(0, width - 1), "~");
}
