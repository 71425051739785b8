using System.Globalization;
using System.Text;
using EventDaemon.Stages.Aggregation;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>
/// Random event streams through the aggregate and through <see cref="ReferenceAggregate"/>: every
/// output line (window, group, metrics, and the step that published it) and every counter must agree.
/// </summary>
public class AggregateDifferentialTests
{
    private const long Second = 1_000_000_000;
    private const long Base = 1_764_151_200_000_000_000;

    private static readonly string[] Types = ["click", "view", "buy"];

    // Keys that need escaping in JSON, and one outside ASCII: they must group by their value and be
    // written back as valid JSON strings.
    private static readonly string[] SpecialKeys = ["q\"x", "tab\tz", "a\\b", "\u00e9t\u00e9"];

    private static readonly GroupField[] ThreeFields =
    [
        new(GroupFieldKind.Type, "type"),
        new(GroupFieldKind.Key, "key"),
        new(GroupFieldKind.Field, "region"),
    ];

    private const AggregateMetrics All = AggregateMetrics.Count | AggregateMetrics.Sum | AggregateMetrics.Min
        | AggregateMetrics.Max | AggregateMetrics.Mean | AggregateMetrics.Percentiles;

    [Theory]
    [InlineData(1, 2 * Second, false)]
    [InlineData(2, 0L, false)]
    [InlineData(3, Second / 2, false)]
    [InlineData(4, 2 * Second, true)]
    [InlineData(5, 3 * Second, false)]
    public void EventTime_OutOfOrderWithLateEvents_MatchesReference(int seed, long lateness, bool negativeValues)
    {
        AggregateSpec spec = Spec(eventTime: true, lateness, maxGroups: 10_000, All);
        var random = new Random(seed);
        var events = new List<ModelEvent>();
        for (int i = 0; i < 4000; i++)
        {
            // About 50 events per window, a fifth of them jittered up to 2.5 windows into the past.
            long ts = Base + (i * Second / 50) + (random.Next(5) == 0 ? -(long)(random.NextDouble() * 2.5 * Second) : random.Next(1000));
            events.Add(Generate(random, ts, negativeValues, keys: 12));
        }

        (AggregateHarness h, ReferenceAggregate reference) = RunEventTime(spec, events);
        using (h)
        {
            AssertSame(spec, reference, h, $"seed {seed}, lateness {lateness}");
            // Jitter reaches 2.5 windows into the past: with 3 windows of lateness nothing is late.
            bool lateExpected = lateness < 3 * Second;
            Assert.True(reference.Late > 0 == lateExpected, $"seed {seed}: with lateness {lateness} ns the stream should {(lateExpected ? "" : "not ")}contain late events, but the reference counted {reference.Late}");
        }
    }

    [Theory]
    [InlineData(6, false)]
    [InlineData(7, true)]
    public void EventTime_ThousandsOfGroupsPerWindow_ClosedInBulk_MatchesReference(int seed, bool negativeValues)
    {
        // 5,000 events a window over 2,000 keys: each window holds thousands of groups, and when
        // one closes (the watermark half a window into the next) it is most of the table, the
        // case where its groups leave the index in bulk and the next window's groups are put back.
        AggregateSpec spec = Spec(eventTime: true, Second / 2, maxGroups: 40_000, All);
        var random = new Random(seed);
        var events = new List<ModelEvent>();
        for (int i = 0; i < 30_000; i++)
        {
            long ts = Base + (i * Second / 5000) + random.Next(1000);
            events.Add(Generate(random, ts, negativeValues, keys: 2000));
        }

        (AggregateHarness h, ReferenceAggregate reference) = RunEventTime(spec, events);
        using (h)
        {
            AssertSame(spec, reference, h, $"seed {seed}, thousands of groups");
            Assert.True(h.IndexRebuilds >= 4, $"seed {seed}: the windows of thousands of groups should have left the index in bulk, {h.IndexRebuilds} did");
        }
    }

    [Theory]
    [InlineData(11, 25)]
    [InlineData(12, 60)]
    [InlineData(13, 1)]
    public void EventTime_MaxGroupsOverflow_CountedAndNeverGrown(int seed, int maxGroups)
    {
        AggregateSpec spec = Spec(eventTime: true, Second, maxGroups, AggregateMetrics.Count | AggregateMetrics.Sum | AggregateMetrics.P99);
        var random = new Random(seed);
        var events = new List<ModelEvent>();
        for (int i = 0; i < 3000; i++)
        {
            long ts = Base + (i * Second / 100) - (random.Next(4) == 0 ? (long)(random.NextDouble() * 1.5 * Second) : 0);
            events.Add(Generate(random, ts, negative: false, keys: 40));
        }

        (AggregateHarness h, ReferenceAggregate reference) = RunEventTime(spec, events);
        using (h)
        {
            AssertSame(spec, reference, h, $"seed {seed}, max_groups {maxGroups}");
            Assert.True(reference.Dropped > 0, $"seed {seed}: {maxGroups} groups should overflow with 40 keys per window");
        }
    }

    [Theory]
    [InlineData(21, false)]
    [InlineData(22, false)]
    [InlineData(23, true)]
    public void ProcessingTime_ClockDrivenWindows_MatchesReference(int seed, bool negativeValues)
    {
        AggregateSpec spec = Spec(eventTime: false, 0, maxGroups: 10_000, All);
        using var h = new AggregateHarness(spec);
        var reference = new ReferenceAggregate(spec);
        var random = new Random(seed);
        long clock = Base + 123;
        for (int batch = 0; batch < 1200; batch++)
        {
            // Mostly small steps; sometimes an idle gap of several windows (nothing must be emitted for them).
            clock += random.Next(10) == 0 ? random.Next(1, 5) * Second + random.Next(1000) : (long)(random.NextDouble() * 0.3 * Second);
            h.Clock = clock;
            if (random.Next(8) == 0)
            {
                reference.OnTimeout(h.Step, clock);
                h.Timeout();
                continue;
            }

            int size = random.Next(1, 6);
            for (int i = 0; i < size; i++)
            {
                ModelEvent e = Generate(random, ts: 0, negativeValues, keys: 10, withTs: false);
                bool last = i == size - 1;
                reference.OnEvent(e, h.Step, clock, last);
                h.Push(e.Json, last);
                AssertBounded(h, reference, spec);
            }
        }

        reference.Drain(h.Step);
        h.Drain();
        AssertSame(spec, reference, h, $"seed {seed}, processing time");
        Assert.True(h.Metrics.Late == 0, $"processing time has no late events, but {h.Metrics.Late} were counted");
    }

    [Theory]
    [InlineData(41, false)]
    [InlineData(42, true)]
    public void EventTime_GroupsOutgrowingExactValues_MatchesReference(int seed, bool negativeValues)
    {
        // About 120 groups of 3 000 events a window, of uneven sizes (about 7 to 90 values): many
        // groups cross from exact values (≤ 32) into a sketch, others stay exact; entries, value
        // blocks and sketches are freed and taken again every window.
        AggregateSpec spec = Spec(eventTime: true, 0, maxGroups: 1000, All);
        var random = new Random(seed);
        var events = Enumerable.Range(0, 12_000).Select(i => Generate(random, Base + (i * Second / 3000), negativeValues, keys: 1)).ToList();
        (AggregateHarness h, ReferenceAggregate reference) = RunEventTime(spec, events);
        using (h)
        {
            AssertSame(spec, reference, h, $"seed {seed}, groups outgrowing exact values");
            int sketched = reference.Emitted.Count(e => e.Values.Count > GroupTable.BlockValues);
            int exact = reference.Emitted.Count(e => e.Values.Count is > 0 and <= GroupTable.BlockValues);
            Assert.True(sketched > 0 && exact > 0, $"seed {seed}: the stream should give groups past {GroupTable.BlockValues} values ({sketched}) and groups within it ({exact})");
        }
    }

    [Fact]
    public void ConfiguredMetricsOnly_InCanonicalOrder()
    {
        AggregateSpec spec = Spec(eventTime: true, 0, 100, AggregateMetrics.Max | AggregateMetrics.P999 | AggregateMetrics.Count);
        var random = new Random(31);
        var events = Enumerable.Range(0, 500).Select(i => Generate(random, Base + (i * Second / 20), negative: false, keys: 3)).ToList();
        (AggregateHarness h, ReferenceAggregate reference) = RunEventTime(spec, events);
        using (h)
        {
            AssertSame(spec, reference, h, "max, p999, count");
            Assert.Contains("\"count\":", h.Lines[0].Json, StringComparison.Ordinal);
            Assert.DoesNotContain("\"sum\":", h.Lines[0].Json, StringComparison.Ordinal);
        }
    }

    private static (AggregateHarness, ReferenceAggregate) RunEventTime(AggregateSpec spec, List<ModelEvent> events)
    {
        var h = new AggregateHarness(spec);
        var reference = new ReferenceAggregate(spec);
        foreach (ModelEvent e in events)
        {
            reference.OnEvent(e, h.Step, 0, endOfBatch: true);
            h.Push(e.Json);
            AssertBounded(h, reference, spec);
        }

        reference.Drain(h.Step);
        h.Drain();
        return (h, reference);
    }

    private static void AssertBounded(AggregateHarness h, ReferenceAggregate reference, AggregateSpec spec)
    {
        if (h.OpenGroups != reference.Alive || h.OpenGroups > spec.MaxGroups)
        {
            Assert.Fail($"step {h.Step}: {h.OpenGroups} groups are open, the reference has {reference.Alive}, max_groups is {spec.MaxGroups}");
        }
    }

    private static void AssertSame(AggregateSpec spec, ReferenceAggregate reference, AggregateHarness h, string context)
    {
        Assert.True(h.Lines.Count == reference.Emitted.Count,
            $"{context}: {reference.Emitted.Count} lines expected, {h.Lines.Count} published. First lines: {string.Join("\n", h.Lines.Take(3).Select(l => l.Json))}");
        for (int i = 0; i < h.Lines.Count; i++)
        {
            LineCheck.Equal(spec, reference.Emitted[i], h.Lines[i], $"{context}, line {i}");
        }

        Assert.True(h.Metrics.Late == reference.Late, $"{context}: events_late_total should be {reference.Late} but was {h.Metrics.Late}");
        long dropped = h.Metrics.DroppedMaxGroups + h.Metrics.DroppedOpenWindows;
        Assert.True(dropped == reference.Dropped,
            $"{context}: max_groups and max_open_windows drops should be {reference.Dropped} but were {h.Metrics.DroppedMaxGroups} + {h.Metrics.DroppedOpenWindows}");
    }

    internal static AggregateSpec Spec(bool eventTime, long lateness, int maxGroups, AggregateMetrics metrics, GroupField[]? groupBy = null) => new()
    {
        WindowNanos = Second,
        GroupBy = groupBy ?? ThreeFields,
        Metrics = metrics,
        EventTime = eventTime,
        LatenessNanos = lateness,
        MaxGroups = maxGroups,
    };

    /// <summary>
    /// A random event: type, key (sometimes spelled with a <c>\u</c> escape, sometimes needing one),
    /// <c>.region</c> as a string, a number, <c>null</c> or absent, and a value or none.
    /// </summary>
    internal static ModelEvent Generate(Random r, long ts, bool negative, int keys, bool withTs = true)
    {
        var parts = new List<string>();
        var group = new GroupValue[3];
        if (withTs)
        {
            parts.Add($"\"ts\":{ts.ToString(CultureInfo.InvariantCulture)}");
        }

        if (r.Next(10) == 0)
        {
            group[0] = GroupValue.Null;
        }
        else
        {
            string type = Types[r.Next(Types.Length)];
            group[0] = GroupValue.Str(type);
            parts.Add("\"type\":" + ReferenceAggregate.JsonString(type, escapeFirst: r.Next(6) == 0));
        }

        int k = r.Next(keys + SpecialKeys.Length + 2);
        if (k >= keys + SpecialKeys.Length)
        {
            group[1] = GroupValue.Null;
        }
        else
        {
            string key = k < keys ? "u" + k.ToString(CultureInfo.InvariantCulture) : SpecialKeys[k - keys];
            group[1] = GroupValue.Str(key);
            parts.Add("\"key\":" + ReferenceAggregate.JsonString(key, escapeFirst: r.Next(6) == 0));
        }

        switch (r.Next(6))
        {
            case 0:
                group[2] = GroupValue.Str("eu");
                parts.Add("\"region\":\"eu\"");
                break;
            case 1:
                group[2] = GroupValue.Str("us");
                parts.Add("\"region\":\"\\u0075s\"");
                break;
            case 2:
                group[2] = GroupValue.Raw("7");
                parts.Add("\"region\":7");
                break;
            case 3:
                group[2] = GroupValue.Raw("2.5");
                parts.Add("\"region\":2.5");
                break;
            case 4:
                group[2] = GroupValue.Null;
                parts.Add("\"region\":null");
                break;
            default:
                group[2] = GroupValue.Null;
                break;
        }

        double? value = null;
        if (r.Next(10) != 0)
        {
            // Within the sketch's 27 000× range, so every percentile must hold the 1% bound.
            double v = Math.Round(0.5 + (r.NextDouble() * 4999.5), 3);
            value = negative ? -v : v;
            parts.Add($"\"value\":{value.Value.ToString("R", CultureInfo.InvariantCulture)}");
        }

        if (r.Next(4) == 0)
        {
            parts.Add("\"extra\":{\"nested\":[1,\"}\",{\"region\":\"no\"}]}");
        }

        // Field order varies: the aggregate must not depend on it.
        var json = new StringBuilder("{");
        foreach (string part in parts.OrderBy(_ => r.Next()))
        {
            json.Append(json.Length > 1 ? "," : "").Append(part);
        }

        return new ModelEvent(ts, group, value, json.Append('}').ToString());
    }
}
