using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Runtime;
using EventDaemon.Daemon.Sources;
using EventDaemon.Daemon.Tests.Config;
using EventDaemon.Daemon.Tests.Sinks;
using EventDaemon.Events;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using Xunit;

namespace EventDaemon.Daemon.Tests.Journal;

/// <summary>
/// An event-time aggregate with a file sink behind it, in a pipeline with a journal (JOURNAL.md,
/// "Aggregates and replay"): the sink checkpoints whole windows, the aggregate's checkpoint follows
/// it, and a start replays the windows the sink had not checkpointed, so the file holds each once.
/// </summary>
public sealed class AggregateCheckpointPipelineTests : IDisposable
{
    private const long Second = 1_000_000_000;
    private const long Base = 1_764_151_200_000_000_000;

    /// <summary>Events per window: 20 ms apart in event time.</summary>
    private const int PerWindow = 50;

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string OutPath => _directory.File("windows.jsonl");

    private EventdConfig Config() => ConfigTesting.Valid($$"""
        [daemon]
        state_dir = "{{_directory.Path}}"
        ring_size = 1024
        arena_size = "1MiB"
        max_event_bytes = 1024
        control_socket = "{{_directory.File("ctl.sock")}}"

        [journal]
        segment_bytes = "3MiB"

        [sources.in]
        type = "tcp"
        address = "127.0.0.1:0"

        [transforms.per_key]
        type = "aggregate"
        inputs = ["in"]
        window = "1s"
        group_by = ["key"]
        metrics = ["count", "sum"]
        time = "event"

        [sinks.windows]
        type = "file"
        inputs = ["per_key"]
        path = "{{OutPath}}"
        fsync = "always"
        """);

    private static void Publish(EventRing ring, int from, int to)
    {
        using IngestBatch batch = ring.BeginBatch(runIdleStages: false);
        for (int i = from; i < to; i++)
        {
            byte[] line = Encoding.UTF8.GetBytes($$"""{"ts":{{Base + (i * Second / PerWindow)}},"key":"k{{i % 2}}","value":{{i}}}""");
            var slot = default(EventSlot);
            Assert.True(JsonEventParser.TryParse(line, ref slot, out _), $"event {i} should parse");
            slot.IngestNanos = MonotonicClock.NowNanos();
            slot.PayloadLength = line.Length;
            Assert.True(batch.TryAppend(ref slot, line, wait: true), $"event {i} did not fit in the ring");
        }
    }

    [Fact]
    public void WindowsSink_CheckpointsWholeWindows_AndAStartReplaysTheOneItHadNot_SoTheFileHoldsEachWindowOnce()
    {
        EventdConfig config = Config();
        long liveBase;
        string[] firstLines;
        using (Pipeline first = PipelineBuilder.Build(config))
        {
            DaemonJournal journal = first.Journal!;
            liveBase = journal.LiveBase;
            AggregateCheckpointer aggregate = Assert.Single(journal.Aggregates);
            Assert.True(aggregate.AtStart == new Checkpoint(liveBase, long.MinValue, long.MinValue),
                $"a new aggregate's checkpoint should start at the next event ({liveBase}) with no window delivered: {aggregate.AtStart}");
            first.StartGraphs(Sequence.InitialValue);

            // Windows 0 to 4; the first event of window 4 closes window 3, so the sink has seen
            // windows 0..3 and knows 0..2 whole.
            Publish(first.Ring, 0, (4 * PerWindow) + 1);
            SinkCheckpointer windows = Assert.Single(journal.WindowCheckpointers);
            Integration.Support.Eventually.True(() => windows.DeliveredWindow == Base + (2 * Second) && aggregate.Sequence == liveBase + (3 * PerWindow),
                () => $"the sink should checkpoint window 2 and the aggregate the first event of window 3 ({liveBase + (3 * PerWindow)}): " +
                    $"window {(windows.DeliveredWindow - Base) / Second}, sequence {aggregate.Sequence} ({windows.LastError} {aggregate.LastError})");
            Checkpoint? onDisk = SinkCheckpoint.Read(Path.Combine(journal.Settings.Directory, "aggregate-per_key.checkpoint"));
            Assert.True(onDisk is { } c && c.Sequence == liveBase + (3 * PerWindow) && c.Offset == Base + (2 * Second) && c.Mark == Base + ((3 * PerWindow) - 1) * Second / PerWindow,
                $"the aggregate's checkpoint file should hold (first event of window 3, window 2, the watermark before it): {onDisk}");

            Publish(first.Ring, (4 * PerWindow) + 1, 5 * PerWindow);
            Assert.True(first.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
            Assert.True(journal.Close(TimeSpan.FromSeconds(10)), "the journal should close durable");
            firstLines = File.ReadAllLines(OutPath);
        }

        Assert.True(firstLines.Length == 10, $"five windows of two keys should give ten lines, the drain emitting the last: {firstLines.Length}");

        // The drain emitted window 4, but the sink cannot know it whole before window 5 begins: the
        // next start cuts it from the file and recomputes it from the journal.
        using (Pipeline second = PipelineBuilder.Build(config))
        {
            DaemonJournal journal = second.Journal!;
            second.Start();
            Assert.True(journal.Replayed == PerWindow, $"the events of window 4 should be replayed, {journal.Replayed} were");
            foreach (Source source in second.Sources)
            {
                source.Stop(TimeSpan.FromSeconds(5));
            }

            Assert.True(second.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
        }

        string[] lines = File.ReadAllLines(OutPath);
        Assert.True(lines.SequenceEqual(firstLines),
            $"the file should hold each window once, as the first run wrote it:\nfirst\n{string.Join("\n", firstLines)}\nnow\n{string.Join("\n", lines)}");
    }
}
