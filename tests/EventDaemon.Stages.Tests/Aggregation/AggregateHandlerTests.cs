using System.Text;
using System.Text.Json;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Stages.Aggregation;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

public class AggregateHandlerTests
{
    private const long Second = 1_000_000_000;
    private const long Base = 1_764_151_200_000_000_000;

    private static readonly GroupField[] TypeAndKey = [new(GroupFieldKind.Type, "type"), new(GroupFieldKind.Key, "key")];

    private const AggregateMetrics SpecExampleMetrics = AggregateMetrics.Count | AggregateMetrics.Sum | AggregateMetrics.Min
        | AggregateMetrics.Max | AggregateMetrics.Mean | AggregateMetrics.P99;

    [Fact]
    public void Output_MatchesSpecExampleByteForByte()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 2 * Second, 100, SpecExampleMetrics, TypeAndKey));
        h.Push("""{"ts":1764151200100000000,"type":"purchase","key":"user-42","value":1.5}""");
        h.Push("""{"ts":1764151200200000000,"type":"purchase","key":"user-42","value":20.0}""");
        h.Push("""{"ts":1764151200300000000,"type":"purchase","key":"user-42","value":9}""");
        h.Drain();

        Assert.True(h.Lines.Count == 1, $"one group in one window should give one line, got {h.Lines.Count}");
        string line = h.Lines[0].Json;
        const string Prefix = """{"window_start":1764151200000000000,"window_end":1764151201000000000,"type":"purchase","key":"user-42","count":3,"sum":30.5,"min":1.5,"max":20.0,"mean":10.166666666666666,"p99":""";
        Assert.True(line.StartsWith(Prefix, StringComparison.Ordinal) && line.EndsWith('}'), $"line should read as SPEC §3's example:\n{Prefix}…}}\nbut was\n{line}");
        double p99 = double.Parse(line.AsSpan(Prefix.Length, line.Length - Prefix.Length - 1), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(p99 - 20.0) <= 0.2, $"p99 of [1.5, 9, 20] is 20 within 1%, got {p99}");
    }

    [Fact]
    public void PercentilesOfASmallGroup_AreExact_OfALargeOneWithinOnePercent()
    {
        AggregateMetrics metrics = AggregateMetrics.Count | AggregateMetrics.P50 | AggregateMetrics.P99;
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 2 * Second, 100, metrics, TypeAndKey));
        double[] small = [20.0, 1.5, 9.25];
        foreach (double v in small)
        {
            h.Push($$"""{"ts":1764151200100000000,"type":"a","key":"small","value":{{v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}}""");
        }

        // Past the exact values a group keeps (GroupTable.BlockValues): the sketch takes over.
        double[] large = [.. Enumerable.Range(1, 1000).Select(i => i * 1.37)];
        foreach (double v in large)
        {
            h.Push($$"""{"ts":1764151200200000000,"type":"a","key":"large","value":{{v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}}""");
        }

        h.Drain();
        Assert.True(h.Lines.Count == 2, $"two groups should give two lines, got {h.Lines.Count}");
        using JsonDocument smallLine = LineCheck.ParseObject(h.Lines[0].Json, "small group");
        double p50 = smallLine.RootElement.GetProperty("p50").GetDouble();
        double p99 = smallLine.RootElement.GetProperty("p99").GetDouble();
        Assert.True(p50 == 9.25 && p99 == 20.0, $"p50 and p99 of [1.5, 9.25, 20] should be exactly 9.25 and 20: {h.Lines[0].Json}");

        using JsonDocument largeLine = LineCheck.ParseObject(h.Lines[1].Json, "large group");
        foreach ((string name, double q) in new[] { ("p50", 0.5), ("p99", 0.99) })
        {
            double exact = ReferenceAggregate.ExactQuantile([.. large], q);
            double got = largeLine.RootElement.GetProperty(name).GetDouble();
            Assert.True(Math.Abs(got - exact) <= LineCheck.QuantileTolerance * exact, $"{name} of 1 000 values should be within 1% of {exact:R}, was {got:R}: {h.Lines[1].Json}");
        }
    }

    [Fact]
    public void MissingGroupField_IsNull_AndJsonNullIsTheSameGroup()
    {
        GroupField[] groupBy = [new(GroupFieldKind.Type, "type"), new(GroupFieldKind.Key, "key"), new(GroupFieldKind.Field, "region")];
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 0, 100, AggregateMetrics.Count, groupBy));
        h.Push("""{"ts":1764151200100000000,"type":"a","value":1}""");
        h.Push("""{"ts":1764151200200000000,"type":"a","region":null,"value":2}""");
        h.Drain();

        Assert.True(h.Lines.Count == 1, $"an absent field and a JSON null are written alike, so they must be one group; got {h.Lines.Count} lines: {string.Join("\n", h.Lines.Select(l => l.Json))}");
        Assert.True(h.Lines[0].Json == """{"window_start":1764151200000000000,"window_end":1764151201000000000,"type":"a","key":null,"region":null,"count":2}""",
            $"missing group fields should be null: {h.Lines[0].Json}");
    }

    [Fact]
    public void EscapedAndBinarySpellings_AreOneGroup_WrittenAsValidJson()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 0, 100, AggregateMetrics.Count, TypeAndKey));
        const string Type = "say \"hi\"\\\t";
        h.Deliver(h.Input.AppendBinary(Type, "k", 1, Base + 1));
        h.Push("""{"ts":1764151200000000002,"type":"say \"hi\"\\\t","key":"\u006b"}""");
        h.Push("""{"ts":1764151200000000003,"type":"say \u0022hi\u0022\u005c\u0009","key":"k"}""");
        h.Drain();

        Assert.True(h.Lines.Count == 1, $"one type spelled three ways (binary, escaped, \\u-escaped) is one group; got {h.Lines.Count}: {string.Join("\n", h.Lines.Select(l => l.Json))}");
        OutputLine line = h.Lines[0];
        using JsonDocument doc = LineCheck.ParseObject(line.Json, "binary and JSON spellings");
        Assert.True(doc.RootElement.GetProperty("type").GetString() == Type, $"type should read back as the original string: {line.Json}");
        Assert.True(doc.RootElement.GetProperty("count").GetInt64() == 3, $"count should be 3: {line.Json}");

        // Stages downstream of the aggregate read type/key from the result slot: it must describe the escaped bytes.
        EventSlot slot = line.Slot;
        var view = new EventView(in slot, Encoding.UTF8.GetBytes(line.Json));
        Assert.True(view.TypeEscaped && view.TypeEquals(Encoding.UTF8.GetBytes(Type)), $"the result slot's type should compare equal to the unescaped type: {line.Json}");
        Assert.True(!view.KeyEscaped && view.KeyEquals("k"u8), $"the result slot's key should be 'k' and unescaped: {line.Json}");
    }

    [Fact]
    public void GroupKeyTooLong_IsDroppedAndCounted()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 0, 100, AggregateMetrics.Count, TypeAndKey));
        string longKey = new('x', AggregateSpec.MaxKeyBytes);
        h.Push($$"""{"ts":1764151200000000001,"type":"a","key":"{{longKey}}"}""");
        h.Push("""{"ts":1764151200000000002,"type":"a","key":"short"}""");
        h.Drain();

        Assert.True(h.Metrics.DroppedKeyTooLong == 1 && h.Metrics.DroppedMaxGroups == 0,
            $"a group key over {AggregateSpec.MaxKeyBytes} bytes should be dropped and counted once as too long: {h.Metrics.DroppedKeyTooLong} too long, {h.Metrics.DroppedMaxGroups} max_groups");
        Assert.True(h.Lines.Count == 1 && h.Lines[0].Json.Contains("\"short\"", StringComparison.Ordinal), $"only the short key's group should be written: {string.Join("\n", h.Lines.Select(l => l.Json))}");
    }

    [Fact]
    public void EventsWithoutValue_CountButHaveNoValueMetrics()
    {
        AggregateMetrics all = AggregateMetrics.Count | AggregateMetrics.Sum | AggregateMetrics.Min | AggregateMetrics.Max | AggregateMetrics.Mean | AggregateMetrics.Percentiles;
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 0, 100, all, []));
        h.Push("""{"ts":1764151200000000001}""");
        h.Push("""{"ts":1764151200000000002,"type":"x"}""");
        h.Drain();

        Assert.True(h.Lines.Count == 1, $"one window without group_by is one line, got {h.Lines.Count}");
        Assert.True(h.Lines[0].Json == """{"window_start":1764151200000000000,"window_end":1764151201000000000,"count":2,"sum":0.0,"min":null,"max":null,"mean":null,"p50":null,"p90":null,"p99":null,"p999":null}""",
            $"events without value count, sum 0 and the rest null: {h.Lines[0].Json}");
    }

    [Fact]
    public void EventTime_WatermarkClosesWindows_LaterEventsAreLate()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, Second, 100, AggregateMetrics.Count, []));
        h.Push($$"""{"ts":{{Base + (Second / 2)}}}""");           // window 0
        h.Push($$"""{"ts":{{Base + (24 * Second / 10)}}}""");    // watermark 1.4 s: window 0 closes
        Assert.True(h.Lines.Count == 1 && h.Lines[0].Step == 1, $"window 0 should be published when the watermark (2.4 s − 1 s) passes its end; lines: {h.Lines.Count}");
        h.Push($$"""{"ts":{{Base + (9 * Second / 10)}}}""");     // window 0 again: late
        h.Push($$"""{"ts":{{Base + (12 * Second / 10)}}}""");    // window 1 is still open
        Assert.True(h.Metrics.Late == 1, $"one event for the closed window should be late, counted {h.Metrics.Late}");
        h.Drain();

        string[] counts = h.Lines.Select(l => l.Json[(l.Json.IndexOf("\"count\"", StringComparison.Ordinal) + 8)..^1]).ToArray();
        Assert.True(counts.SequenceEqual(["1", "1", "1"]), $"windows 0, 1, 2 should count 1 each (the late event dropped), got [{string.Join(",", counts)}]");
        Assert.True(h.Metrics.Processed == 4, $"all four events reached the stage, processed {h.Metrics.Processed}");
    }

    [Fact]
    public void ProcessingTime_EmptyWindowsEmitNothing()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(false, 0, 100, AggregateMetrics.Count, []));
        h.Clock = Base + 1;
        h.Timeout();
        h.Push("{}");
        for (int i = 1; i <= 5; i++)
        {
            h.Clock = Base + (i * Second) + 1;
            h.Timeout();
        }

        h.Drain();
        Assert.True(h.Lines.Count == 1, $"five idle windows after one event should add no lines, got {h.Lines.Count}: {string.Join("\n", h.Lines.Select(l => l.Json))}");
        Assert.True(h.Lines[0].Step == 2, $"the window should close at the first timeout after its end (step 2), was step {h.Lines[0].Step}");
    }

    [Fact]
    public void ProcessingTime_ClockSteppingBack_IsNotLate()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(false, 0, 100, AggregateMetrics.Count, []));
        h.Clock = Base + (Second / 2);
        h.Push("{}");
        h.Clock = Base + (12 * Second / 10);
        h.Push("{}");   // closes window 0 at the end of its batch
        h.Clock = Base + (7 * Second / 10);  // the wall clock steps back (NTP)
        h.Push("{}");
        h.Drain();

        Assert.True(h.Metrics.Late == 0, $"processing time has no late events even when the clock steps back, counted {h.Metrics.Late}");
        string[] lines = h.Lines.Select(l => l.Json).ToArray();
        Assert.True(lines.Length == 2 && lines[1].Contains($"\"window_start\":{Base + Second},", StringComparison.Ordinal) && lines[1].Contains("\"count\":2", StringComparison.Ordinal),
            $"the event after the step back should join the oldest open window: {string.Join("\n", lines)}");
    }

    [Fact]
    public void NegativeTimestamps_AlignToEpochMultiples()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 0, 100, AggregateMetrics.Count, []));
        h.Push("""{"ts":-1}""");
        h.Push("""{"ts":-1000000000}""");
        h.Push("""{"ts":0}""");
        h.Drain();

        string[] lines = h.Lines.Select(l => l.Json).ToArray();
        Assert.True(lines.Length == 2
            && lines[0] == """{"window_start":-1000000000,"window_end":0,"count":2}"""
            && lines[1] == """{"window_start":0,"window_end":1000000000,"count":1}""",
            $"ts -1 and -1e9 fall in [-1 s, 0), ts 0 in [0, 1 s): {string.Join("\n", lines)}");
    }

    [Fact]
    public void EventsThatDoNotReachTheStage_AreIgnored()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 0, 100, AggregateMetrics.Count, []));
        h.Push("""{"ts":1764151200000000001}""", sourceId: 1);
        h.Drain();
        Assert.True(h.Lines.Count == 0 && h.Metrics.Processed == 0, $"an event from a source the aggregate does not read should be ignored: {h.Lines.Count} lines, {h.Metrics.Processed} processed");
    }

    [Fact]
    public void TooManyOpenWindows_DroppedAndCounted()
    {
        using var h = new AggregateHarness(AggregateDifferentialTests.Spec(true, 1000 * Second, 100, AggregateMetrics.Count, []));
        int windows = AggregateSpec.MaxOpenWindows + 6;
        for (int i = 0; i < windows; i++)
        {
            h.Push($$"""{"ts":{{Base + (i * Second)}}}""");
        }

        Assert.True(h.OpenWindows == AggregateSpec.MaxOpenWindows, $"at most {AggregateSpec.MaxOpenWindows} windows may be open, {h.OpenWindows} are");
        Assert.True(h.Metrics.DroppedOpenWindows == 6 && h.Metrics.DroppedMaxGroups == 0,
            $"events for windows beyond the bound should be dropped and counted as such: 6 expected, {h.Metrics.DroppedOpenWindows} counted ({h.Metrics.DroppedMaxGroups} as max_groups)");
        h.Drain();
        Assert.True(h.Lines.Count == AggregateSpec.MaxOpenWindows, $"drain should emit every open window, {h.Lines.Count} lines");
        long[] starts = h.Lines.Select(l => l.Slot.Timestamp).ToArray();
        Assert.True(starts.SequenceEqual(starts.Order()), "drain should emit windows oldest first");
    }
}
