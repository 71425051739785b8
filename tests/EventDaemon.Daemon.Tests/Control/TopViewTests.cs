using System.Globalization;
using EventDaemon.Daemon.Control;
using Xunit;

namespace EventDaemon.Daemon.Tests.Control;

/// <summary>The frame of <c>eventd top</c>, rendered from <c>stats json</c> and <c>health</c> replies shaped as the daemon writes them.</summary>
public class TopViewTests
{
    private const string Socket = "/run/eventd/eventd.sock";

    /// <summary>A daemon with a tcp source, a filter and a file sink, at <paramref name="uptime"/> with <paramref name="received"/> events in.</summary>
    private static string Stats(double uptime, long received, long processed, long written, long lag = 0, long sinkErrors = 0, long drops = 0) =>
        string.Create(CultureInfo.InvariantCulture, $$"""
        {
          "uptime_seconds": {{uptime}},
          "events_received_total": [{"source": "in", "value": {{received}}}],
          "events_invalid_total": [{"source": "in", "reason": "not_json", "value": 2}],
          "events_oversized_total": [{"source": "in", "value": 1}],
          "events_dropped_total": [{"source": "in", "reason": "ring_full", "value": {{drops}}}],
          "events_processed_total": [{"stage": "clicks", "value": {{processed}}}, {"stage": "out", "value": {{written}}}],
          "events_late_total": [],
          "stage_lag": [{"stage": "clicks", "value": {{lag}}}, {"stage": "out", "value": 0}],
          "sink_events_written_total": [{"sink": "out", "value": {{written}}}],
          "sink_errors_total": [{"sink": "out", "value": {{sinkErrors}}}],
          "ring_capacity": 4096,
          "ring_occupancy": 1024,
          "arena_capacity_bytes": 4194304,
          "arena_used_bytes": 1048576,
          "latency_ns": [
            {"stage": "clicks", "quantile": "0.5", "value": 44416},
            {"stage": "clicks", "quantile": "0.99", "value": 1250000},
            {"stage": "out", "quantile": "0.5", "value": 850},
            {"stage": "out", "quantile": "0.99", "value": 2500000000}
          ]
        }
        """);

    private static TopSnapshot Snapshot(string stats, string health = "ok\n") => TopSnapshot.Parse(stats, health);

    private static string Row(IReadOnlyList<string> frame, string name) =>
        frame.FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal))
        ?? throw new Xunit.Sdk.XunitException($"no row for '{name}' in the frame:\n{string.Join('\n', frame)}");

    private static string[] Cells(string row) => row.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Render_ShowsEverySourceStageAndSink_WithRatesFromTheDaemonsUptime()
    {
        TopSnapshot before = Snapshot(Stats(uptime: 10, received: 1000, processed: 1000, written: 400));
        TopSnapshot after = Snapshot(Stats(uptime: 12, received: 3000, processed: 2600, written: 1400, lag: 17, sinkErrors: 3, drops: 5));
        IReadOnlyList<string> frame = TopView.Render(after, before, Socket, 200, 50);
        string text = string.Join('\n', frame);

        // Rates are per second of the daemon's uptime (2 s here), not of the client's clock.
        Assert.True(Cells(Row(frame, "in")) is ["in", "source", "1000", "3000", "-", "5", "3", "-", "-"], $"source row:\n{text}");
        Assert.True(Cells(Row(frame, "clicks")) is ["clicks", "stage", "800", "2600", "17", "0", "-", "44.4us", "1.25ms"], $"stage row:\n{text}");
        Assert.True(Cells(Row(frame, "out")) is ["out", "sink", "500", "1400", "0", "0", "3", "850ns", "2.5s"], $"sink row:\n{text}");
        Assert.True(frame[0].Contains("in 1000/s", StringComparison.Ordinal), $"the title gives the total rate in:\n{text}");
    }

    [Fact]
    public void Render_WithoutAnEarlierReading_ShowsNoRate()
    {
        IReadOnlyList<string> frame = TopView.Render(Snapshot(Stats(5, 100, 100, 50)), null, Socket, 200, 50);
        Assert.True(Cells(Row(frame, "clicks"))[2] == "-", $"a rate was shown from one reading:\n{string.Join('\n', frame)}");
    }

    [Fact]
    public void Render_AfterTheDaemonRestarted_ShowsNoRateRatherThanANegativeOne()
    {
        TopSnapshot before = Snapshot(Stats(100, 5000, 5000, 5000));
        TopSnapshot after = Snapshot(Stats(1, 10, 10, 10));
        IReadOnlyList<string> frame = TopView.Render(after, before, Socket, 200, 50);
        Assert.True(Cells(Row(frame, "in"))[2] == "-", $"a rate across a restart:\n{string.Join('\n', frame)}");
    }

    [Fact]
    public void Render_PutsHealthProblemsAtTheTop_AndOkWhenThereAreNone()
    {
        IReadOnlyList<string> healthy = TopView.Render(Snapshot(Stats(1, 0, 0, 0)), null, Socket, 200, 50);
        Assert.True(healthy[1] == "health ok", $"second line of a healthy frame: '{healthy[1]}'");

        TopSnapshot failing = Snapshot(Stats(1, 0, 0, 0), "sink out failing: connection refused (12 errors)\nstage clicks stalled: no progress for 5 s with 3 events waiting\n");
        IReadOnlyList<string> frame = TopView.Render(failing, null, Socket, 200, 50);
        Assert.True(frame[1] == "PROBLEM sink out failing: connection refused (12 errors)", $"first problem line: '{frame[1]}'");
        Assert.True(frame[2].StartsWith("PROBLEM stage clicks stalled", StringComparison.Ordinal), $"second problem line: '{frame[2]}'");
    }

    [Fact]
    public void Render_ShowsRingAndArenaFill()
    {
        IReadOnlyList<string> frame = TopView.Render(Snapshot(Stats(1, 0, 0, 0)), null, Socket, 200, 50);
        Assert.True(frame.Contains("ring 25.0% 1024/4096 slots   arena 25.0% 1MiB/4MiB"), $"fill line missing:\n{string.Join('\n', frame)}");
    }

    [Fact]
    public void Render_In80By24_NeverWrapsOrScrolls()
    {
        var problems = string.Concat(Enumerable.Range(0, 30).Select(i => $"stage s{i} stalled: no progress for 5 s with 3 events waiting and a very long explanation after it\n"));
        TopSnapshot many = Snapshot(Stats(1, 0, 0, 0), problems);
        IReadOnlyList<string> frame = TopView.Render(many, null, "/a/very/long/socket/path/that/goes/on/and/on/eventd.sock", 80, 24);
        Assert.True(frame.Count <= 24, $"{frame.Count} lines for a 24-line terminal");
        Assert.True(frame.All(l => l.Length < 80), $"a line reaches the last column:\n{string.Join('\n', frame)}");
        Assert.True(frame.Any(l => l.StartsWith("NAME", StringComparison.Ordinal)), $"problems pushed the table out:\n{string.Join('\n', frame)}");
        Assert.True(frame.Any(l => l.Contains("more (eventd ctl health)", StringComparison.Ordinal)), $"the problems not shown are not counted:\n{string.Join('\n', frame)}");
    }

    [Fact]
    public void Render_MoreRowsThanFit_SaysHowManyAreHidden()
    {
        IReadOnlyList<string> frame = TopView.Render(Snapshot(Stats(1, 0, 0, 0)), null, Socket, 80, 7);
        Assert.True(frame.Count == 7, $"{frame.Count} lines for a 7-line terminal:\n{string.Join('\n', frame)}");
        Assert.True(frame[^1].StartsWith("... 2 more rows", StringComparison.Ordinal), $"last line: '{frame[^1]}'");
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(99_999, "99999")]
    [InlineData(123_456, "123k")]
    [InlineData(1_500_000, "1.5M")]
    [InlineData(25_000_000_000, "25G")]
    public void Count_FitsInSevenCharacters(double value, string expected) =>
        Assert.True(TopView.Count(value) == expected, $"{value} printed as '{TopView.Count(value)}', expected '{expected}'");

    [Fact]
    public void Parse_AReplyThatIsNotJson_IsAFormatException()
    {
        var e = Record.Exception(() => TopSnapshot.Parse("error: unknown command", "ok"));
        Assert.True(e is FormatException, $"expected a FormatException, got {e?.GetType().Name ?? "nothing"}");
    }
}
