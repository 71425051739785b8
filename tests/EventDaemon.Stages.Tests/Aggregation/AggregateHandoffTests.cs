using System.Diagnostics;
using System.Text;
using EventDaemon.Events;
using EventDaemon.Events.BadInput;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using EventDaemon.Ring.Waiting;
using EventDaemon.Stages.Aggregation;
using EventDaemon.Stages.Metrics;
using EventDaemon.Stages.Routing;
using Xunit;

namespace EventDaemon.Stages.Tests.Aggregation;

/// <summary>An aggregate run by a source's thread (idle hand-off) with a sink behind it that is
/// stuck: the window output waits for room in the output ring, and that wait must never hold the
/// source's thread.</summary>
public sealed class AggregateHandoffTests
{
    private const long Second = 1_000_000_000;

    private sealed class SinkLog
    {
        public readonly ManualResetEventSlim Release = new(false);
        public long Seen;
    }

    /// <summary>A sink that blocks on its first event until the test releases it.</summary>
    private struct StuckSink : IEventHandler<EventSlot>
    {
        public SinkLog Log;

        public readonly void OnStart()
        {
        }

        public readonly void OnEvent(ref EventSlot slot, long sequence, bool endOfBatch)
        {
            Log.Release.Wait(TimeSpan.FromSeconds(30));
            Interlocked.Increment(ref Log.Seen);
        }

        public readonly void OnTimeout(long sequence)
        {
        }

        public readonly void OnShutdown()
        {
        }
    }

    private static long AppendJson(EventRing ring, string json)
    {
        byte[] line = Encoding.UTF8.GetBytes(json);
        var slot = default(EventSlot);
        Assert.True(JsonEventParser.TryParse(line, ref slot, out InvalidReason reason), $"test event rejected ({reason}): {json}");
        slot.IngestNanos = MonotonicClock.NowNanos();
        using (IngestBatch batch = ring.BeginBatch())
        {
            Assert.True(batch.TryAppend(ref slot, line, wait: true), "a waiting append always lands");
        }

        return ring.Sequencer.Cursor.Value;
    }

    private static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }

            Thread.Sleep(1);
        }

        return true;
    }

    [Fact]
    public void AStuckSinkBehindAnAggregate_NeverHoldsTheSourceThreadThatRunsTheAggregate()
    {
        const int Groups = 10;
        const int OutputSlots = 4;
        long clock = 0;
        using var input = new EventRing(64, 1 << 20, lockMemory: false, notifyOnPublish: true);
        using var output = new EventRing(OutputSlots, 1 << 20, lockMemory: false, notifyOnPublish: true);
        var spec = AggregateDifferentialTests.Spec(eventTime: false, 0, maxGroups: 100, AggregateMetrics.Count);
        var metrics = new StageMetrics("agg", "transform") { Type = "aggregate" };
        var aggregate = new AggregateHandler(input.Reader, output, spec, new Reach(SourceMask: 1, PassMask: 0), metrics,
            () => Volatile.Read(ref clock));
        var sinkLog = new SinkLog();
        using var sinkGraph = new EventGraph<EventSlot, AdaptiveWait>(output.Slots, output.Sequencer);
        sinkGraph.Add("sink", new StuckSink { Log = sinkLog });
        sinkGraph.EnableIdleHandoff();
        var graph = new EventGraph<EventSlot, AdaptiveWait>(input.Slots, input.Sequencer);
        Stage stage = graph.Add("agg", aggregate);
        graph.EnableIdleHandoff();
        sinkGraph.Start();
        graph.Start();
        var processor = (BatchEventProcessor<EventSlot, AggregateHandler, AdaptiveWait>)stage.Processor;
        IdleHandoff lease = processor.Barrier.Handoff!;

        // The source: one event per group in window 0, each once the aggregate sleeps lent (so this
        // thread runs it), then one in window 1, whose batch closes window 0: more lines than the
        // output ring holds, with the sink stuck on the first.
        long handedOffBeforeClose = -1;
        string? failure = null;
        var source = new Thread(() =>
        {
            for (int i = 0; i <= Groups; i++)
            {
                if (!WaitUntil(() => lease.IsLent && stage.Position == input.Sequencer.Cursor.Value, TimeSpan.FromSeconds(10)))
                {
                    failure = $"the aggregate never went to sleep lent before event {i}";
                    return;
                }

                if (i == Groups)
                {
                    Volatile.Write(ref clock, Second);
                    handedOffBeforeClose = processor.HandedOffBatches;
                }

                AppendJson(input, $$"""{"type":"t","key":"k{{i % Groups}}","value":1}""");
            }
        })
        { IsBackground = true, Name = "source" };
        source.Start();

        bool sourceFinished = source.Join(TimeSpan.FromSeconds(15));
        bool allLines = false;
        try
        {
            Assert.True(failure is null, failure);
            Assert.True(sourceFinished, "the source thread is held by the aggregate's window output waiting on the stuck sink");
            Assert.True(processor.HandedOffBatches > handedOffBeforeClose,
                "the batch that closed the window did not run on the source's thread: nothing was tested");
        }
        finally
        {
            sinkLog.Release.Set();
            allLines = WaitUntil(() => Interlocked.Read(ref sinkLog.Seen) == Groups, TimeSpan.FromSeconds(10));
            bool stopped = graph.Halt(TimeSpan.FromSeconds(10)) && sinkGraph.Halt(TimeSpan.FromSeconds(10));
            source.Join(TimeSpan.FromSeconds(10));
            Assert.True(stopped, "the stages did not stop");
        }

        Assert.True(allLines, $"the sink saw {sinkLog.Seen} of the window's {Groups} lines once released");
        Assert.True(sinkLog.Seen == Groups + 1, $"after the drain the sink saw {sinkLog.Seen} lines, {Groups + 1} expected (window 1's one group)");
    }
}
