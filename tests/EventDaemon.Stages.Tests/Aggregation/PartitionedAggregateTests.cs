using System.Text;
using EventDaemon.Events;
using EventDaemon.Events.Fields;
using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Aggregation;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Tests.Transforms;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>
/// An aggregate split over threads (<c>threads = N</c>, by group key) against the same aggregate on
/// one thread, over random streams: the same lines (as a set: threads publish in their own order),
/// the same late and max_groups counts, in both time modes, with the key hash from the decoder's
/// row or made by the stage.
/// </summary>
public class PartitionedAggregateTests
{
    private const long Second = 1_000_000_000;
    private const long Base = 1_764_151_200_000_000_000;

    [Theory]
    [InlineData(1, 2, true)]
    [InlineData(2, 3, false)]
    [InlineData(3, 4, true)]
    public void EventTime_SplitByGroupKey_GivesExactlyTheSingleThreadResults(int seed, int threads, bool indexed)
    {
        AggregateSpec spec = AggregateDifferentialTests.Spec(eventTime: true, Second, maxGroups: 100_000, AllMetrics);
        var random = new Random(seed);
        var events = new List<string>();
        for (int i = 0; i < 4000; i++)
        {
            long ts = Base + (i * Second / 50) + (random.Next(5) == 0 ? -(long)(random.NextDouble() * 2.5 * Second) : random.Next(1000));
            events.Add(AggregateDifferentialTests.Generate(random, ts, negative: false, keys: 40).Json);
        }

        (List<string> single, long singleLate) = Run(spec, 1, indexed, events, clock: null);
        (List<string> split, long splitLate) = Run(spec, threads, indexed, events, clock: null);
        AssertSameLines(single, split, $"seed {seed}, {threads} threads");
        Assert.True(singleLate > 0 && splitLate == singleLate, $"seed {seed}: events_late_total should match ({singleLate} on one thread, {splitLate} on {threads}) and some events be late");
    }

    [Theory]
    [InlineData(11, 2, true)]
    [InlineData(12, 3, false)]
    public void ProcessingTime_SplitByGroupKey_GivesExactlyTheSingleThreadResults(int seed, int threads, bool indexed)
    {
        AggregateSpec spec = AggregateDifferentialTests.Spec(eventTime: false, 0, maxGroups: 100_000, AllMetrics);
        var random = new Random(seed);
        var events = new List<string>();
        var clock = new List<long>();
        long now = Base + 7;
        for (int i = 0; i < 3000; i++)
        {
            // The clock moves between batches (every 7 events here): a stage reads it once per batch,
            // so its threads see one time per batch, as one thread would.
            if (i % 7 == 0)
            {
                now += random.Next(3) == 0 ? random.Next(1, 4) * Second : (long)(random.NextDouble() * 0.3 * Second);
            }

            clock.Add(now);
            events.Add(AggregateDifferentialTests.Generate(random, 0, negative: true, keys: 40, withTs: false).Json);
        }

        (List<string> single, _) = Run(spec, 1, indexed, events, clock);
        (List<string> split, _) = Run(spec, threads, indexed, events, clock);
        AssertSameLines(single, split, $"seed {seed}, {threads} threads, processing time");
    }

    [Fact]
    public void EveryGroupIsFoldedByExactlyOneThread()
    {
        AggregateSpec spec = AggregateDifferentialTests.Spec(eventTime: true, 0, maxGroups: 100_000, AggregateMetrics.Count);
        var random = new Random(5);
        var events = Enumerable.Range(0, 2000)
            .Select(i => AggregateDifferentialTests.Generate(random, Base + i, negative: false, keys: 200).Json).ToList();
        using var input = new TestRing(4096, 1 << 22);
        using var output = new EventRing(16_384, 8 << 20, lockMemory: false, notifyOnPublish: false);
        var metrics = new StageMetrics("agg", "transform") { Type = "aggregate" };
        StageMetrics[] parts = metrics.Split(3);
        AggregateHandler[] handlers = Handlers(spec, 3, input.Ring.Reader, output, parts);
        Feed(input, handlers, events, clock: null);
        long[] processed = [.. parts.Select(p => p.Processed)];
        Assert.True(processed.Sum() == events.Count && processed.All(n => n > 0),
            $"each event is processed by one thread, every thread gets a share: {string.Join(", ", processed)} of {events.Count}");
        Assert.True(metrics.Processed == events.Count, $"the stage's total is the threads' sum: {metrics.Processed}");
    }

    private const AggregateMetrics AllMetrics = AggregateMetrics.Count | AggregateMetrics.Sum | AggregateMetrics.Min
        | AggregateMetrics.Max | AggregateMetrics.Mean | AggregateMetrics.Percentiles;

    private static (List<string> Lines, long Late) Run(AggregateSpec spec, int threads, bool indexed, List<string> events, List<long>? clock)
    {
        using var input = new TestRing(8192, 1 << 23);
        using var output = new EventRing(65_536, 32 << 20, lockMemory: false, notifyOnPublish: false);
        FieldCatalog catalog = FieldCatalog.Empty;
        if (indexed)
        {
            var builder = new FieldCatalog.Builder();
            builder.AddKey(spec.KeyParts());
            catalog = builder.Build();
            input.Ring.UseCatalog(catalog);
        }

        var metrics = new StageMetrics("agg", "transform") { Type = "aggregate" };
        StageMetrics[] parts = threads == 1 ? [metrics] : metrics.Split(threads);
        AggregateHandler[] handlers = Handlers(spec, threads, input.Ring.ReaderFor(catalog), output, parts, clock);
        Feed(input, handlers, events, clock);
        for (int i = 0; i < handlers.Length; i++)
        {
            handlers[i].OnShutdown();
        }

        var lines = new List<string>();
        for (long s = 0; s <= output.Sequencer.Cursor.Value; s++)
        {
            lines.Add(Encoding.UTF8.GetString(output.Payload(ref output.Slots[s])));
        }

        return (lines, metrics.Late);
    }

    private static long _now;

    private static AggregateHandler[] Handlers(AggregateSpec spec, int threads, EventReader reader, EventRing output, StageMetrics[] parts,
        List<long>? clock = null)
    {
        var handlers = new AggregateHandler[threads];
        for (int i = 0; i < threads; i++)
        {
            Partition partition = threads == 1 ? Partition.Whole : Partition.ByGroupKey(i, threads, spec.KeyParts(), -1);
            handlers[i] = clock is null
                ? new AggregateHandler(reader, output, spec, new Reach(SourceMask: 1, PassMask: 0), parts[i], partition)
                : new AggregateHandler(reader, output, spec, new Reach(SourceMask: 1, PassMask: 0), parts[i], () => _now, partition);
            handlers[i].OnStart();
        }

        return handlers;
    }

    /// <summary>Every thread sees every event in ring order, as each would from its own barrier.</summary>
    private static void Feed(TestRing input, AggregateHandler[] handlers, List<string> events, List<long>? clock)
    {
        for (int e = 0; e < events.Count; e++)
        {
            if (clock is not null)
            {
                _now = clock[e];
            }

            long sequence = input.AppendJson(events[e]);
            for (int i = 0; i < handlers.Length; i++)
            {
                handlers[i].OnEvent(ref input[sequence], sequence, endOfBatch: e % 7 == 6);
            }
        }
    }

    private static void AssertSameLines(List<string> single, List<string> split, string context)
    {
        Assert.True(single.Count > 100, $"{context}: the stream should produce many lines, got {single.Count}");
        Assert.True(single.Count == split.Count, $"{context}: {single.Count} lines on one thread, {split.Count} split");
        var expected = single.Order(StringComparer.Ordinal).ToList();
        var actual = split.Order(StringComparer.Ordinal).ToList();
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i] == actual[i], $"{context}: line {i} differs:\n one thread: {expected[i]}\n split:      {actual[i]}");
        }
    }
}
