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
/// The stage side of <c>eventd tap</c>: a tapped filter copies exactly the events it lets through,
/// as the sinks render them; a full tap drops and counts and never waits; sampling keeps 1 in N;
/// and with a tap attached the stage thread allocates nothing.
/// </summary>
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
    public void WithATapAttached_TheStageThreadAllocatesNothing()
    {
        var tap = new StageTap("clicks");
        TapHandler<FilterHandler> handler = Filter(tap, "type == \"click\"");
        Assert.True(tap.TryAttach(1), "attach");
        long[] sequences = new long[64];
        for (int i = 0; i < sequences.Length; i++)
        {
            sequences[i] = Append($$"""{"type":"{{(i % 2 == 0 ? "click" : "view")}}","key":"k{{i}}","value":{{i}}}""");
        }

        // Warm up, then measure with the consumer side kept draining as the control thread would
        // (on this thread: it allocates nothing either, the buffer is the test's own).
        byte[] sink = new byte[StageTap.Capacity];
        Run(ref handler, tap, sequences, 20_000, sink);
        const int Events = 1_000_000;
        using var gc = CollectionWatch.Start();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run(ref handler, tap, sequences, Events, sink);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{Events:N0} tapped events allocated {allocated:N0} bytes on the stage thread; it must allocate nothing");
        Assert.True(gc.Collections == 0, $"no collection should run while the tapped stage works: {gc.Describe()}");
        Assert.True(tap.Taken > Events / 4, $"the tap should have copied the clicks, took {tap.Taken}");
    }

    [Fact]
    public void TapCursors_KeepEachSidesFieldsOnTheirOwnCacheLine()
    {
        Assert.True(Unsafe.SizeOf<TapCursors>() == 192, $"size {Unsafe.SizeOf<TapCursors>()}");
        Assert.True(OffsetOf(nameof(TapCursors.Write)) == 64, "Write starts the stage thread's line");
        Assert.True(OffsetOf(nameof(TapCursors.Dropped)) == 88, "Dropped is on the stage thread's line");
        Assert.True(OffsetOf(nameof(TapCursors.Read)) == 128, "Read starts the control thread's line");
    }

    private static int OffsetOf(string field) => (int)System.Runtime.InteropServices.Marshal.OffsetOf<TapCursors>(field);

    private void Run(ref TapHandler<FilterHandler> handler, StageTap tap, long[] sequences, int count, byte[] sink)
    {
        for (int i = 0; i < count; i++)
        {
            long sequence = sequences[i % sequences.Length];
            handler.OnEvent(ref ResetMarks(sequence), sequence, endOfBatch: (i & 63) == 63);
            if ((i & 1023) == 1023)
            {
                tap.Drain(sink);
            }
        }
    }

    private TapHandler<FilterHandler> Filter(StageTap tap, string condition)
    {
        Assert.True(FilterProgram.TryCompile(condition, out FilterProgram? program, out ExpressionError error), $"condition: {error}");
        var metrics = new StageMetrics("clicks", "transform") { Type = "filter" };
        var filter = new FilterHandler(_ring.Reader, program, FromSourceZero, markBit: 1, metrics);
        return new TapHandler<FilterHandler>(filter, tap, _ring.Reader, FromSourceZero, markBit: 1);
    }

    private void Deliver(ref TapHandler<FilterHandler> handler, string json)
    {
        long sequence = Append(json);
        handler.OnEvent(ref _ring.Slots[sequence], sequence, endOfBatch: true);
    }

    private ref EventSlot ResetMarks(long sequence)
    {
        ref EventSlot slot = ref _ring.Slots[sequence];
        slot.Marks = 0;
        return ref slot;
    }

    private long Append(string json)
    {
        byte[] line = Encoding.UTF8.GetBytes(json);
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, out InvalidReason reason), $"test event rejected ({reason}): {json}");
        slot.IngestNanos = MonotonicClock.NowNanos();
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
