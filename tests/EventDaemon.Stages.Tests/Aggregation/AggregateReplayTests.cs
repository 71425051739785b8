using System.Globalization;
using System.Text.Json;
using EventDaemon.Events;
using EventDaemon.Stages.Aggregation;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>
/// What the journal relies on to replay an aggregate (JOURNAL.md, "Aggregates and replay"): for each
/// window emitted, the aggregate records where a replay must start and the state to restore there;
/// replaying from that point with that state gives the same later windows and none already delivered.
/// </summary>
public class AggregateReplayTests
{
    private const long Second = 1_000_000_000;
    private const long Base = 1_764_151_200_000_000_000;

    private static readonly GroupField[] ByKey = [new(GroupFieldKind.Key, "key")];

    /// <summary>Events 20 ms apart in event time, many arriving up to 2 s out of order (some past the
    /// 1.5 s allowed lateness, so late), over three keys, each valued by its number; every 40th is
    /// from a source the aggregate does not take (a filter before it), 1.45 s ahead: it moves the
    /// watermark without being folded, so a replay that did not restore the watermark would differ.</summary>
    private static (string Json, ushort Source)[] OutOfOrderEvents(int count)
    {
        var random = new Random(7);
        var events = new (string, ushort)[count];
        for (int i = 0; i < count; i++)
        {
            bool filtered = i % 40 == 39;
            long ts = Base + (i * 20 * 1_000_000L) + (filtered ? 29 * Second / 20 : random.Next(4) == 0 ? -random.NextInt64(2 * Second) : 0);
            events[i] = (string.Create(CultureInfo.InvariantCulture, $$"""{"ts":{{ts}},"key":"k{{i % 3}}","value":{{i}}}"""), filtered ? (ushort)1 : (ushort)0);
        }

        return events;
    }

    private static long StartOf(string line)
    {
        using JsonDocument json = JsonDocument.Parse(line);
        return json.RootElement.GetProperty("window_start").GetInt64();
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(9)]
    public void EventTime_ReplayFromTheRecordedStart_WithTheRecordedWatermark_GivesTheSameLaterWindows_AndNoneDelivered(int deliveredIndex)
    {
        AggregateSpec spec = AggregateDifferentialTests.Spec(eventTime: true, lateness: 3 * Second / 2, maxGroups: 1000, AggregateMetrics.Count | AggregateMetrics.Sum, ByKey);
        (string Json, ushort Source)[] events = OutOfOrderEvents(800);

        var first = new AggregateProgress();
        List<string> firstLines;
        long late;
        using (var h = new AggregateHarness(spec, progress: first))
        {
            foreach ((string json, ushort source) in events)
            {
                h.Push(json, sourceId: source);
            }

            h.Drain();
            firstLines = [.. h.Lines.Select(l => l.Json)];
            late = h.Metrics.Late;
        }

        long[] starts = [.. firstLines.Select(StartOf).Distinct()];
        Assert.True(starts.Length > deliveredIndex + 2 && late > 0,
            $"the run should close more than {deliveredIndex + 2} windows and drop some late events to be a fair case: {starts.Length} windows, {late} late");
        long delivered = starts[deliveredIndex];
        Assert.True(first.TryFind(delivered, out long start, out long fromRing, out long mark) && start == delivered,
            $"the aggregate should have recorded where a replay starts after window {delivered}, found start {start}");
        Assert.True(fromRing > 0 && fromRing < events.Length, $"the replay should start inside the run, not at ring sequence {fromRing}");

        // The second run sees the same ring (a replay numbers it the same) and is told where to start.
        var replay = new AggregateProgress { SkipBelowRing = fromRing, RestoreMark = mark, DeliveredStart = delivered };
        List<string> replayLines;
        using (var h = new AggregateHarness(spec, progress: replay))
        {
            foreach ((string json, ushort source) in events)
            {
                h.Push(json, sourceId: source);
            }

            h.Drain();
            replayLines = [.. h.Lines.Select(l => l.Json)];
        }

        string[] expected = [.. firstLines.Where(l => StartOf(l) > delivered)];
        string? again = replayLines.FirstOrDefault(l => StartOf(l) <= delivered);
        Assert.True(again is null, $"a window at or before the delivered one ({delivered}) was emitted again: {again}");
        Assert.True(replayLines.SequenceEqual(expected),
            $"the replay from ring sequence {fromRing} should give exactly the first run's windows after {delivered}:\nexpected\n{string.Join("\n", expected)}\ngot\n{string.Join("\n", replayLines)}");
    }

    [Fact]
    public void EventTime_AReplayStartingAfterEveryWindowClosed_RestoresTheWatermark_SoWhatWasLateIsLateAgain()
    {
        AggregateSpec spec = AggregateDifferentialTests.Spec(eventTime: true, lateness: 0, maxGroups: 1000, AggregateMetrics.Count, ByKey);
        // Window 0 gets one event; one the aggregate does not take (another source) moves the watermark
        // to 3.2 s and closes it, leaving nothing open; then an event for window 1, late, and one for window 3.
        (string Json, ushort Source)[] events =
        [
            ($$"""{"ts":{{Base + (Second / 2)}},"key":"k"}""", 0),
            ($$"""{"ts":{{Base + (16 * Second / 5)}},"key":"k"}""", 1),
            ($$"""{"ts":{{Base + (3 * Second / 2)}},"key":"k"}""", 0),
            ($$"""{"ts":{{Base + (7 * Second / 2)}},"key":"k"}""", 0),
        ];
        var first = new AggregateProgress();
        using (var h = new AggregateHarness(spec, progress: first))
        {
            foreach ((string json, ushort source) in events)
            {
                h.Push(json, sourceId: source);
            }

            Assert.True(h.Metrics.Late == 1, $"the event for window 1 should be late the first time, late = {h.Metrics.Late}");
        }

        Assert.True(first.TryFind(Base, out _, out long fromRing, out long mark) && fromRing == 2 && mark == Base + (16 * Second / 5),
            $"with nothing open after window 0, the replay should start at the next event (2) with the watermark then (3.2 s): {fromRing}, {mark - Base}");

        using var replay = new AggregateHarness(spec, progress: new AggregateProgress { SkipBelowRing = fromRing, RestoreMark = mark, DeliveredStart = Base });
        foreach ((string json, ushort source) in events)
        {
            replay.Push(json, sourceId: source);
        }

        replay.Drain();
        string[] got = [.. replay.Lines.Select(l => l.Json)];
        string expected = $$"""{"window_start":{{Base + (3 * Second)}},"window_end":{{Base + (4 * Second)}},"key":"k","count":1}""";
        Assert.True(replay.Metrics.Late == 1 && got.SequenceEqual([expected]),
            $"the replay should find the window-1 event late again and emit only window 3, late = {replay.Metrics.Late}:\n{string.Join("\n", got)}");
    }

    [Fact]
    public void ProcessingTime_ReplayedEventsTakeTheirJournaledIngestTime_AndTheClockClosesWindowsOnlyAfterTheReplay()
    {
        AggregateSpec spec = AggregateDifferentialTests.Spec(eventTime: false, lateness: 0, maxGroups: 1000, AggregateMetrics.Count, ByKey);
        const long IngestToUnix = Base - 1_000;
        // Six replayed events taken 0.4 s apart (journaled ingest times), then the wall clock is 100 s on.
        var progress = new AggregateProgress { ReplayedBelowRing = 6, IngestToUnixNanos = IngestToUnix };
        using var h = new AggregateHarness(spec, progress: progress) { Clock = Base + (100 * Second) };
        for (int i = 0; i < 6; i++)
        {
            long sequence = h.Input.AppendJson("""{"key":"k"}""");
            h.Input[sequence].IngestNanos = 1_000 + (i * 2 * Second / 5);
            h.Deliver(sequence);
            if (i == 0)
            {
                h.Timeout();
                Assert.True(h.Lines.Count == 0, $"the wall clock should close nothing while the replay runs: {string.Join("\n", h.Lines.Select(l => l.Json))}");
            }
        }

        h.Timeout();
        long live = h.Input.AppendJson("""{"key":"k"}""");
        h.Deliver(live);
        h.Drain();

        string[] got = [.. h.Lines.Select(l => l.Json)];
        string[] expected =
        [
            $$"""{"window_start":{{Base}},"window_end":{{Base + Second}},"key":"k","count":3}""",
            $$"""{"window_start":{{Base + Second}},"window_end":{{Base + (2 * Second)}},"key":"k","count":2}""",
            $$"""{"window_start":{{Base + (2 * Second)}},"window_end":{{Base + (3 * Second)}},"key":"k","count":1}""",
            $$"""{"window_start":{{Base + (100 * Second)}},"window_end":{{Base + (101 * Second)}},"key":"k","count":1}""",
        ];
        Assert.True(got.SequenceEqual(expected), $"replayed events should fall into the windows of their ingest times and the live one into the clock's:\nexpected\n{string.Join("\n", expected)}\ngot\n{string.Join("\n", got)}");
    }

    [Fact]
    public void TryFind_GivesTheLatestWindowAtOrBeforeTheDeliveredOne_AndNothingOnceOverwritten()
    {
        var progress = new AggregateProgress();
        Assert.False(progress.TryFind(long.MaxValue, out _, out _, out _), "nothing emitted yet: no entry");
        for (long w = 0; w < AggregateProgress.Capacity + 10; w++)
        {
            progress.Add(w * 10, fromRing: w * 100, mark: w);
        }

        Assert.True(progress.TryFind(505, out long start, out long from, out long mark) && start == 500 && from == 5_000 && mark == 50,
            $"delivered 505 should find the window starting at 500, found {start} (from {from}, mark {mark})");
        Assert.False(progress.TryFind(50, out start, out _, out _),
            $"window 50 was overwritten by later ones (the table keeps {AggregateProgress.Capacity}): no entry should be found, found {start}");
    }
}
