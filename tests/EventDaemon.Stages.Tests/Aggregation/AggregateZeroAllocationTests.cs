using EventDaemon.Stages.Aggregation;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>The aggregate's steady state allocates nothing: folding, closing windows and writing result lines.</summary>
[Collection(AllocationMeasurements.Name)]
public class AggregateZeroAllocationTests
{
    private const int Events = 1_000_000;
    private const long Second = 1_000_000_000;
    private const long Base = 1_764_151_200_000_000_000;

    private const AggregateMetrics All = AggregateMetrics.Count | AggregateMetrics.Sum | AggregateMetrics.Min
        | AggregateMetrics.Max | AggregateMetrics.Mean | AggregateMetrics.Percentiles;

    private static readonly GroupField[] GroupBy =
    [
        new(GroupFieldKind.Type, "type"),
        new(GroupFieldKind.Key, "key"),
        new(GroupFieldKind.Field, "region"),
    ];

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void MillionEventsWithWindowRollovers_AllocateNothing(bool eventTime, bool journaled)
    {
        AggregateSpec spec = AggregateDifferentialTests.Spec(eventTime, Second / 2, 1000, All, GroupBy);

        // Small output ring: nothing consumes it, so it wraps; the lines' content is not read here.
        // Journaled: the handler also records, per window, where a replay would start.
        using var h = new AggregateHarness(spec, outputSlots: 1024, progress: journaled ? new AggregateProgress() : null);
        int distinct = 256;
        var sequences = new long[distinct];
        for (int i = 0; i < distinct; i++)
        {
            // 48 groups (16 type/key pairs × 3 regions); some keys escaped, some events without value.
            string value = i % 7 == 0 ? "" : $",\"value\":{(i * 37 % 1000) + 0.25}";
            string region = i % 3 == 0 ? ",\"region\":\"eu\"" : i % 3 == 1 ? ",\"region\":4" : "";
            string key = i % 5 == 0 ? $"\\u0075{i % 16}" : $"u{i % 16}";
            sequences[i] = h.Input.AppendJson($$"""{"type":"t{{i % 4}}","key":"{{key}}"{{region}}{{value}},"extra":[1,{"a":"}"}]}""");
        }

        long windowsBefore = 0;
        Run(h, sequences, eventTime, 0, 50_000, ref windowsBefore);

        using var gc = CollectionWatch.Start();
        long before = GC.GetAllocatedBytesForCurrentThread();
        long outputBefore = h.Output.Sequencer.Cursor.Value;
        long windows = 0;
        Run(h, sequences, eventTime, 50_000, Events, ref windows);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long lines = h.Output.Sequencer.Cursor.Value - outputBefore;

        Assert.True(allocated == 0, $"{Events:N0} events ({windows:N0} window rollovers, {lines:N0} result lines) allocated {allocated:N0} bytes on the stage thread; the aggregate must allocate nothing");
        Assert.True(gc.Collections == 0, $"no garbage collection should run while the aggregate works: {gc.Describe()}");
        Assert.True(windows >= 900 && lines >= 900 * 48, $"the run should roll over about 1 000 windows of 48 groups, rolled {windows:N0} with {lines:N0} lines");
        Assert.True(h.Metrics.Late == 0 && h.Metrics.DroppedMaxGroups == 0, $"no event should be late or dropped: late {h.Metrics.Late}, dropped {h.Metrics.DroppedMaxGroups}");
    }

    [Fact]
    public void ThousandGroupsInlineBlockAndSketch_WindowCloses_AllocateNothing()
    {
        // 1 000 groups a window: most hold a few dozen values (inline, then a values block), eight
        // hot ones thousands (a sketch), a tenth have keys too long for the entry. Windows close
        // every 20 000 events, so entries, blocks and sketches are freed and taken again.
        AggregateSpec spec = AggregateDifferentialTests.Spec(true, 0, 2000, All, GroupBy);
        using var h = new AggregateHarness(spec, outputSlots: 1024);
        var sequences = new long[1024];
        for (int i = 0; i < sequences.Length; i++)
        {
            string key = i % 10 == 0 ? $"long-key-that-does-not-fit-inline-{i % 1000}" : $"u{i % 1000}";
            sequences[i] = h.Input.AppendJson($$"""{"type":"t","key":"{{key}}","value":{{(i * 7919 % 10_000) + 0.5}}}""");
        }

        const int Warmup = 100_000;
        const int PerWindow = 20_000;
        for (int i = 0; i < Warmup; i++)
        {
            Deliver(h, sequences, i, PerWindow);
        }

        using var gc = CollectionWatch.Start();
        long before = GC.GetAllocatedBytesForCurrentThread();
        long outputBefore = h.Output.Sequencer.Cursor.Value;
        for (int i = Warmup; i < Warmup + Events; i++)
        {
            Deliver(h, sequences, i, PerWindow);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long lines = h.Output.Sequencer.Cursor.Value - outputBefore;
        Assert.True(allocated == 0, $"{Events:N0} events over 1 000 groups a window ({lines:N0} result lines) allocated {allocated:N0} bytes on the stage thread; the aggregate must allocate nothing");
        Assert.True(gc.Collections == 0, $"no garbage collection should run while the aggregate works: {gc.Describe()}");
        Assert.True(lines >= (Events / PerWindow - 1) * 1000, $"about {Events / PerWindow} windows of 1 000 groups should close, {lines:N0} lines were written");
        Assert.True(h.Metrics.DroppedMaxGroups == 0, $"no event should be dropped: dropped {h.Metrics.DroppedMaxGroups}");
    }

    [Fact]
    public void WindowsOfThousandsOfGroups_LeavingTheIndexInBulk_AllocateNothing()
    {
        // 4 096 groups a window, one window open at a time: every closing window is the whole
        // table, so its groups leave the index in one rebuild (GroupTable.RebuildIndex) instead of
        // one removal each; the freed entries are taken again by the next window.
        const int Groups = 4096;
        const int PerWindow = 3 * Groups;
        AggregateSpec spec = AggregateDifferentialTests.Spec(true, 0, 2 * Groups, All, GroupBy);
        using var h = new AggregateHarness(spec, outputSlots: 1024, inputSlots: Groups);
        var sequences = new long[Groups];
        for (int i = 0; i < sequences.Length; i++)
        {
            sequences[i] = h.Input.AppendJson($$"""{"type":"t{{i % 3}}","key":"user-{{i}}","region":"eu","value":{{(i * 7919 % 10_000) + 0.5}}}""");
        }

        const int Warmup = 5 * PerWindow;
        for (int i = 0; i < Warmup; i++)
        {
            DeliverInWindows(h, sequences, i, PerWindow);
        }

        int rebuildsBefore = h.IndexRebuilds;
        using var gc = CollectionWatch.Start();
        long before = GC.GetAllocatedBytesForCurrentThread();
        long outputBefore = h.Output.Sequencer.Cursor.Value;
        const int Measured = 40 * PerWindow;
        for (int i = Warmup; i < Warmup + Measured; i++)
        {
            DeliverInWindows(h, sequences, i, PerWindow);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long lines = h.Output.Sequencer.Cursor.Value - outputBefore;
        int rebuilds = h.IndexRebuilds - rebuildsBefore;
        Assert.True(rebuilds >= 39, $"40 windows of {Groups:N0} groups closed, but only {rebuilds} left the index in bulk: the bulk path was not measured");
        Assert.True(allocated == 0, $"{Measured:N0} events over {Groups:N0} groups a window ({rebuilds} bulk removals, {lines:N0} result lines) allocated {allocated:N0} bytes on the stage thread; the aggregate must allocate nothing");
        Assert.True(gc.Collections == 0, $"no garbage collection should run while the aggregate works: {gc.Describe()}");
        Assert.True(lines >= 39L * Groups, $"about 40 windows of {Groups:N0} groups should close, {lines:N0} lines were written");
        Assert.True(h.Metrics.DroppedMaxGroups == 0, $"no event should be dropped: dropped {h.Metrics.DroppedMaxGroups}");
    }

    /// <summary>Event <paramref name="i"/> (event time): every group in turn, <paramref name="perWindow"/> events a window.</summary>
    private static void DeliverInWindows(AggregateHarness h, long[] sequences, int i, int perWindow)
    {
        long sequence = sequences[i % sequences.Length];
        h.Input[sequence].Timestamp = Base + (i / perWindow * Second) + (i % perWindow);
        h.DeliverUncollected(sequence, endOfBatch: (i & 63) == 63);
    }

    /// <summary>Event <paramref name="i"/> (event time): half spread over every group, half over eight hot ones.</summary>
    private static void Deliver(AggregateHarness h, long[] sequences, int i, int perWindow)
    {
        long sequence = sequences[(i & 1) == 0 ? ((i >> 1) * 7) & 1023 : (i >> 1) & 7];
        h.Input[sequence].Timestamp = Base + (i / perWindow * Second) + (i % perWindow);
        h.DeliverUncollected(sequence, endOfBatch: (i & 63) == 63);
    }

    /// <summary>Events <paramref name="from"/>..<paramref name="to"/>: a window every 1 000 events, in batches of 64.</summary>
    private static void Run(AggregateHarness h, long[] sequences, bool eventTime, int from, int to, ref long windows)
    {
        long lastWindow = -1;
        for (int i = from; i < to; i++)
        {
            long time = Base + (i * (Second / 1000));
            long sequence = sequences[i & (sequences.Length - 1)];
            if (eventTime)
            {
                h.Input[sequence].Timestamp = time;
            }
            else
            {
                h.Clock = time;
            }

            h.DeliverUncollected(sequence, endOfBatch: (i & 63) == 63);
            long window = time / Second;
            if (window != lastWindow)
            {
                windows++;
                lastWindow = window;
            }
        }
    }
}
