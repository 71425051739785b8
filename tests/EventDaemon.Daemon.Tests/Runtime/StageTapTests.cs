using System.Runtime.CompilerServices;
using System.Text;
using EventDaemon.Daemon.Runtime;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Ingest;
using EventDaemon.Stages.Expressions;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using EventDaemon.Stages.Transforms;
using EventDaemon.Tests.Shared;
using Xunit;

namespace EventDaemon.Daemon.Tests.Runtime;

/// <summary>
/// The pipeline side of <c>eventd tap</c>: a tapped filter copies exactly the events it lets
/// through, as the sinks render them; a split stage's threads each fill their own lane and the
/// control side merges them; a route's outputs and a ring's sources are tapped apart; a full tap
/// drops and counts and never waits; sampling keeps 1 in N; and with taps attached the stage
/// thread allocates nothing.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public sealed class StageTapTests : IDisposable
{
    private static readonly Reach FromSourceZero = new(SourceMask: 1, PassMask: 0);

    private readonly EventRing _ring = new(1024, 1 << 20, lockMemory: false, notifyOnPublish: false);

    public void Dispose() => _ring.Dispose();

    [Fact]
    public void ATappedFilter_CopiesOnlyTheEventsItLetsThrough_AsTheirJsonLines()
    {
        var tap = new StageTap("clicks");
        TapHandler<FilterHandler> handler = Filter(tap, "type == \"click\"");
        Assert.True(tap.TryAttach(sample: 1), "a tap with no client should attach");

        Deliver(ref handler, """{"type":"click","n":1}""");
        Deliver(ref handler, """{"type":"view","n":2}""");
        Deliver(ref handler, """{"type":"click","n":3}""");

        string lines = Drain(tap);
        Assert.True(lines == "{\"type\":\"click\",\"n\":1}\n{\"type\":\"click\",\"n\":3}\n", $"tapped lines: '{lines}'");
        Assert.True(tap.Taken == 2 && tap.Dropped == 0, $"taken {tap.Taken}, dropped {tap.Dropped}");
    }

    [Fact]
    public void ASplitFilter_FillsOneLanePerThread_WithOnlyItsOwnShare_AndTheDrainMergesThem()
    {
        // Two threads by sequence: runs of 64 events each, alternately.
        var tap = new StageTap("clicks", lanes: 2);
        var split = new SplitSpec(PartitionKind.Sequence);
        TapHandler<FilterHandler> first = Filter(tap, "type == \"click\"", split, thread: 0, threads: 2);
        TapHandler<FilterHandler> second = Filter(tap, "type == \"click\"", split, thread: 1, threads: 2);
        Assert.True(tap.TryAttach(sample: 1), "attach");
        var clicks = new List<string>();
        for (int i = 0; i < 4 * Partition.SequenceRun; i++)
        {
            string json = $$"""{"type":"{{(i % 3 == 0 ? "view" : "click")}}","n":{{i}}}""";
            long sequence = Append(json);
            if (i % 3 != 0)
            {
                clicks.Add(json);
            }

            // Each thread sees every slot; the other thread's events are unmarked when this one looks.
            first.OnEvent(ref _ring.Slots[sequence], sequence, endOfBatch: true);
            second.OnEvent(ref _ring.Slots[sequence], sequence, endOfBatch: true);
        }

        string[] lines = Drain(tap).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Order(StringComparer.Ordinal).SequenceEqual(clicks.Order(StringComparer.Ordinal)),
            $"the merged lanes should hold each click once and nothing else: {lines.Length} lines for {clicks.Count} clicks");
        int[] numbers = [.. lines.Select(l => int.Parse(l[(l.IndexOf("\"n\":", StringComparison.Ordinal) + 4)..^1], System.Globalization.CultureInfo.InvariantCulture))];
        int[] ofFirst = [.. numbers.Where(n => n / Partition.SequenceRun % 2 == 0)];
        int[] ofSecond = [.. numbers.Where(n => n / Partition.SequenceRun % 2 == 1)];
        Assert.True(ofFirst.SequenceEqual(ofFirst.Order()) && ofSecond.SequenceEqual(ofSecond.Order()),
            $"each thread's events should keep their order: {string.Join(',', numbers)}");
    }

    [Fact]
    public void ARoute_TapsEachOutputApart_AndItselfAsEveryEventThatReachedIt()
    {
        var group = new TapGroup();
        var whole = new StageTap("r", 1, group);
        var errors = new StageTap("r.errors", 1, group);
        var unmatched = new StageTap("r._unmatched", 1, group);
        Assert.True(FilterProgram.TryCompile(".level == \"error\"", out FilterProgram? program, out ExpressionError error), $"condition: {error}");
        var route = new RouteHandler(_ring.Reader, [program], [1], unmatchedBit: 2, FromSourceZero, new StageMetrics("r", "transform") { Type = "route" });
        var outputs = new StageOutputTaps(_ring.Reader, FromSourceZero, [whole, errors, unmatched], [0, 1UL << 1, 1UL << 2], SplitSpec.None, 1);
        var handler = new TapHandler<RouteHandler>(route, ingress: null, outputs, thread: 0);
        Assert.True(errors.TryAttach(1) && unmatched.TryAttach(1), "attach two outputs");

        Deliver(ref handler, """{"level":"error","n":1}""");
        Deliver(ref handler, """{"level":"info","n":2}""");
        Assert.True(Drain(errors) == "{\"level\":\"error\",\"n\":1}\n", "r.errors should show only what its condition let through");
        Assert.True(Drain(unmatched) == "{\"level\":\"info\",\"n\":2}\n", "r._unmatched should show only what met no condition");
        Assert.True(whole.Taken == 0, "the route's own tap has no client and should copy nothing");

        Assert.True(whole.TryAttach(1), "attach the route itself");
        Deliver(ref handler, """{"level":"error","n":3}""");
        Deliver(ref handler, """{"level":"info","n":4}""");
        Assert.True(whole.Taken == 2, $"the route's own tap should copy every event that reached it, took {whole.Taken}");
    }

    [Fact]
    public void ASourceTap_OnTheRingsFirstStage_CopiesOnlyThatSourcesEvents_WhateverTheStageDoes()
    {
        var group = new TapGroup();
        var web = new StageTap("web", 1, group);
        var app = new StageTap("app", 1, group);
        var ingress = new RingIngressTaps(_ring.Reader, group, [web, app]);
        var handler = new TapHandler<FilterHandler>(Bare("type == \"click\""), ingress, outputs: null, thread: 0);
        Assert.True(app.TryAttach(1), "attach the source 'app'");

        Deliver(ref handler, """{"type":"view","from":"web"}""", sourceId: 0);
        Deliver(ref handler, """{"type":"view","from":"app"}""", sourceId: 1);
        Deliver(ref handler, """{"type":"click","from":"app"}""", sourceId: 1);
        string lines = Drain(app);
        Assert.True(lines == "{\"type\":\"view\",\"from\":\"app\"}\n{\"type\":\"click\",\"from\":\"app\"}\n",
            $"the source's tap should show all it published, filtered or not, and nothing of another source: '{lines}'");
        Assert.True(web.Taken == 0, "an untapped source copied events");
    }

    [Fact]
    public void ASinkTap_CopiesTheLinesAsGiven()
    {
        var tap = new StageTap("out");
        Assert.True(tap.TryAttach(1), "attach");
        tap.OfferLine("{\"a\":1,\"geo\":\"fr\"}\n"u8);
        Assert.True(Drain(tap) == "{\"a\":1,\"geo\":\"fr\"}\n", "a sink's line should reach the client byte for byte");
    }

    [Fact]
    public void WithNoClient_NothingIsCopied()
    {
        var tap = new StageTap("clicks");
        TapHandler<FilterHandler> handler = Filter(tap, "type == \"click\"");
        Deliver(ref handler, """{"type":"click"}""");
        Assert.True(tap.Taken == 0 && Drain(tap).Length == 0, $"an unattached tap copied {tap.Taken} events");
    }

    [Fact]
    public void AFullTap_DropsAndCountsWithoutWaiting_AndResumesOnceDrained()
    {
        var tap = new StageTap("all");
        TapHandler<FilterHandler> handler = Filter(tap, "value >= 0");
        Assert.True(tap.TryAttach(1), "attach");
        string payload = "{\"value\":1,\"pad\":\"" + new string('x', 1000) + "\"}";
        int offered = 2 * StageTap.Capacity / payload.Length;
        for (int i = 0; i < offered; i++)
        {
            Deliver(ref handler, payload);
        }

        Assert.True(tap.Dropped > 0 && tap.Taken + tap.Dropped == offered, $"offered {offered}: taken {tap.Taken}, dropped {tap.Dropped}");
        long taken = tap.Taken;
        string drained = Drain(tap);
        Assert.True(drained.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == taken, $"drained {drained.Count(c => c == '\n')} lines of {taken} taken");

        Deliver(ref handler, payload);
        Assert.True(tap.Taken == taken + 1, "once drained, the tap takes events again");
    }

    [Fact]
    public void Sampling_KeepsOneEventInN()
    {
        var tap = new StageTap("all");
        TapHandler<FilterHandler> handler = Filter(tap, "value >= 0");
        Assert.True(tap.TryAttach(sample: 10), "attach");
        for (int i = 0; i < 100; i++)
        {
            Deliver(ref handler, $$"""{"value":{{i}}}""");
        }

        Assert.True(tap.Taken == 10, $"1 in 10 of 100 events should be taken, not {tap.Taken}");
    }

    [Fact]
    public void ASecondClient_IsRefusedUntilTheFirstDetaches()
    {
        var tap = new StageTap("clicks");
        Assert.True(tap.TryAttach(1), "first client");
        Assert.False(tap.TryAttach(1), "a second client attached to a tap already serving one");
        tap.Detach();
        Assert.True(tap.TryAttach(1), "a client after the first left");
    }

    [Fact]
    public void WithTapsAttached_TheStageThreadAllocatesNothing()
    {
        // The stage's own tap (a lane of a split stage's) and the ring's source tap, both attached.
        var tap = new StageTap("clicks", lanes: 2);
        var source = new StageTap("in");
        var split = new SplitSpec(PartitionKind.Sequence);
        var outputs = new StageOutputTaps(_ring.Reader, FromSourceZero, [tap], [1UL << 1], split, 2);
        var handler = new TapHandler<FilterHandler>(Bare("type == \"click\"", split.For(1, 2)), new RingIngressTaps(_ring.Reader, source.Group, [source]), outputs, thread: 1);
        Assert.True(tap.TryAttach(1) && source.TryAttach(1), "attach");

        // The first run of the split (sequences 0..63) is thread 0's; the slots measured are the next run, thread 1's.
        for (int i = 0; i < Partition.SequenceRun; i++)
        {
            Append("{}");
        }

        long[] sequences = new long[Partition.SequenceRun];
        for (int i = 0; i < sequences.Length; i++)
        {
            sequences[i] = Append($$"""{"type":"{{(i % 2 == 0 ? "click" : "view")}}","key":"k{{i}}","value":{{i}}}""");
        }

        // Warm up, then measure with the consumer side kept draining as the control thread would
        // (on this thread: it allocates nothing either, the buffer is the test's own).
        byte[] sink = new byte[StageTap.Capacity];
        StageTap[] drained = [tap, source];
        Run(ref handler, drained, sequences, 20_000, sink);
        const int Events = 1_000_000;
        long taken = tap.Taken, published = source.Taken;
        using var gc = CollectionWatch.Start();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(ref handler, drained, sequences, Events, sink);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{Events:N0} tapped events allocated {allocated:N0} bytes on the stage thread; it must allocate nothing");
        Assert.True(gc.Collections == 0, $"no collection should run while the tapped stage works: {gc.Describe()}");
        Assert.True(tap.Taken - taken > Events / 8, $"the stage's tap should have copied this thread's clicks, took {tap.Taken - taken}");
        Assert.True(source.Taken - published > Events / 2, $"the source's tap should have copied its events, took {source.Taken - published}");
    }

    [Fact]
    public void TapCursors_KeepEachSidesFieldsOnTheirOwnCacheLine()
    {
        Assert.True(Unsafe.SizeOf<TapCursors>() == 192, $"size {Unsafe.SizeOf<TapCursors>()}");
        Assert.True(OffsetOf(nameof(TapCursors.Write)) == 64, "Write starts the stage thread's line");
        Assert.True(OffsetOf(nameof(TapCursors.Dropped)) == 88, "Dropped is on the stage thread's line");
        Assert.True(OffsetOf(nameof(TapCursors.Reserved)) == 96, "Reserved is on the stage thread's line");
        Assert.True(OffsetOf(nameof(TapCursors.Read)) == 128, "Read starts the control thread's line");
    }

    [Fact]
    public void TapGroupCount_HasTheCountOnALineOfItsOwn()
    {
        Assert.True(Unsafe.SizeOf<TapGroupCount>() == 128, $"size {Unsafe.SizeOf<TapGroupCount>()}");
        Assert.True((int)System.Runtime.InteropServices.Marshal.OffsetOf<TapGroupCount>(nameof(TapGroupCount.Attached)) == 64, "the count starts the second line");
    }

    private static int OffsetOf(string field) => (int)System.Runtime.InteropServices.Marshal.OffsetOf<TapCursors>(field);

    private void Run(ref TapHandler<FilterHandler> handler, StageTap[] taps, long[] sequences, int count, byte[] sink)
    {
        for (int i = 0; i < count; i++)
        {
            // The same slots again and again: all in this thread's runs of the split, source 0.
            long sequence = sequences[i % sequences.Length];
            handler.OnEvent(ref ResetMarks(sequence), sequence, endOfBatch: (i & 63) == 63);
            if ((i & 1023) == 1023)
            {
                foreach (StageTap tap in taps)
                {
                    tap.Drain(sink);
                }
            }
        }
    }

    private TapHandler<FilterHandler> Filter(StageTap tap, string condition, SplitSpec? split = null, int thread = 0, int threads = 1)
    {
        split ??= SplitSpec.None;
        var outputs = new StageOutputTaps(_ring.Reader, FromSourceZero, [tap], [1UL << 1], split, threads);
        return new TapHandler<FilterHandler>(Bare(condition, split.For(thread, threads)), ingress: null, outputs, thread);
    }

    private FilterHandler Bare(string condition, Partition partition = default)
    {
        Assert.True(FilterProgram.TryCompile(condition, out FilterProgram? program, out ExpressionError error), $"condition: {error}");
        var metrics = new StageMetrics("clicks", "transform") { Type = "filter" };
        return new FilterHandler(_ring.Reader, program, FromSourceZero, markBit: 1, metrics, partition);
    }

    private void Deliver<THandler>(ref TapHandler<THandler> handler, string json, ushort sourceId = 0)
        where THandler : struct, EventDaemon.Ring.IEventHandler<EventSlot>
    {
        long sequence = Append(json, sourceId);
        handler.OnEvent(ref _ring.Slots[sequence], sequence, endOfBatch: true);
    }

    private ref EventSlot ResetMarks(long sequence)
    {
        ref EventSlot slot = ref _ring.Slots[sequence];
        slot.Marks = 0;
        return ref slot;
    }

    private long Append(string json, ushort sourceId = 0)
    {
        byte[] line = Encoding.UTF8.GetBytes(json);
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, out InvalidReason reason), $"test event rejected ({reason}): {json}");
        slot.IngestNanos = MonotonicClock.NowNanos();
        slot.SourceId = sourceId;
        using (IngestBatch batch = _ring.BeginBatch())
        {
            Assert.True(batch.TryAppend(ref slot, line, wait: false), "a ring without consumers always has room");
        }

        return _ring.Sequencer.Cursor.Value;
    }

    private static string Drain(StageTap tap)
    {
        byte[] buffer = new byte[StageTap.Capacity];
        var text = new StringBuilder();
        int n;
        while ((n = tap.Drain(buffer)) > 0)
        {
            text.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }

        return text.ToString();
    }
}
