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

/// <summary>A file sink in a pipeline with a journal: its checkpoint follows the syncs of its file, and retention follows the checkpoint.</summary>
public sealed class SinkCheckpointPipelineTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private string OutPath => _directory.File("out.jsonl");

    private string CheckpointPath => Path.Combine(_directory.Path, "journal", DaemonJournal.CheckpointFileName("out"));

    private EventdConfig Config(string fsync, string retention = "8GiB") => ConfigTesting.Valid($$"""
        [daemon]
        state_dir = "{{_directory.Path}}"
        ring_size = 1024
        arena_size = "1MiB"
        max_event_bytes = 1024
        control_socket = "{{_directory.File("ctl.sock")}}"

        [journal]
        segment_bytes = "3MiB"
        retention_bytes = "{{retention}}"

        [sources.in]
        type = "tcp"
        address = "127.0.0.1:0"

        [transforms.keep]
        type = "filter"
        inputs = ["in"]
        condition = 'type == "t"'

        [sinks.out]
        type = "file"
        inputs = ["keep"]
        path = "{{OutPath}}"
        {{fsync}}
        """);

    private static void Publish(EventRing ring, int from, int to)
    {
        using IngestBatch batch = ring.BeginBatch(runIdleStages: false);
        for (int i = from; i < to; i++)
        {
            // Every third event is not for the sink: the checkpoint still passes it.
            byte[] line = Encoding.UTF8.GetBytes($$"""{"type":"{{(i % 3 == 2 ? "u" : "t")}}","n":{{i}}}""");
            var slot = default(EventSlot);
            Assert.True(JsonEventParser.TryParse(line, ref slot, out _), $"event {i} should parse");
            slot.IngestNanos = MonotonicClock.NowNanos();
            slot.PayloadLength = line.Length;
            Assert.True(batch.TryAppend(ref slot, line, wait: true), $"event {i} did not fit in the ring");
        }
    }

    [Theory]
    [InlineData("fsync = \"always\"")]
    [InlineData("fsync = \"never\"")]
    [InlineData("fsync = \"interval\"\nfsync_interval = \"10ms\"")]
    public void FileSink_WritesACheckpoint_OfTheLastJournalSequence_AndTheFileLength(string fsync)
    {
        using Pipeline pipeline = PipelineBuilder.Build(Config(fsync));
        DaemonJournal journal = pipeline.Journal!;
        SinkCheckpointer checkpointer = Assert.Single(journal.Checkpointers);
        Assert.True(checkpointer.Sink == "out" && checkpointer.Sequence == -1, $"a new sink has no checkpoint yet: {checkpointer.Sink} at {checkpointer.Sequence}");
        pipeline.StartGraphs(Sequence.InitialValue);
        Publish(pipeline.Ring, 0, 3000);

        // The last event is not for the sink: the checkpoint reaches it once the batch before it is on disk.
        Integration.Support.Eventually.True(() => checkpointer.Sequence == journal.LiveBase + 2999,
            () => $"the checkpoint should reach journal sequence {journal.LiveBase + 2999}, is at {checkpointer.Sequence} ({checkpointer.LastError})");
        Checkpoint? onDisk = SinkCheckpoint.Read(CheckpointPath);
        long length = new FileInfo(OutPath).Length;
        Assert.True(onDisk == new Checkpoint(journal.LiveBase + 2999, length), $"the file should say ({journal.LiveBase + 2999}, {length}), says {onDisk}");
        Assert.True(File.ReadAllLines(OutPath).Length == 2000, "two of every three events reach the file");
        Assert.True(pipeline.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
    }

    [Fact]
    public void Retention_KeepsSegments_TheFileSinksCheckpointHasNotPassed_EvenWhenEveryStageHas()
    {
        // A sync an hour away: the events are in the file, but no checkpoint says so before the close.
        using Pipeline pipeline = PipelineBuilder.Build(Config("fsync = \"interval\"\nfsync_interval = \"1h\"", retention: "3MiB"));
        DaemonJournal journal = pipeline.Journal!;
        pipeline.StartGraphs(Sequence.InitialValue);
        Publish(pipeline.Ring, 0, 150_000);
        Integration.Support.Eventually.True(() => journal.DurableRingSequence == 149_999 && pipeline.AllStages.All(s => s.Position == 149_999),
            () => $"every stage should reach the last event and the journal make it durable, durable {journal.DurableRingSequence}");
        int before = journal.SegmentCount;
        Assert.True(before >= 3, $"150 000 events should span three segments or more, span {before}");

        Assert.True(pipeline.RetainJournal() == 0, "no segment may go before the file sink's checkpoint says it was delivered");
        Assert.True(journal.SegmentCount == before, $"{before} segments should stay, {journal.SegmentCount} did");

        // Halting closes the file: its last sync commits the checkpoint, and the segments may go.
        Assert.True(pipeline.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
        SinkCheckpointer checkpointer = Assert.Single(journal.Checkpointers);
        Assert.True(checkpointer.Sequence == journal.LiveBase + 149_999, $"the close should checkpoint the last event, checkpoint at {checkpointer.Sequence}");
        int deleted = pipeline.RetainJournal();
        Assert.True(deleted == before - 1, $"every segment but the one being written should go ({before - 1}), {deleted} went");
    }

    [Fact]
    public void Start_AfterACrashPastTheCheckpoint_CutsTheFileBack_AndReplays_SoEachEventIsInItOnce()
    {
        EventdConfig config = Config("fsync = \"always\"");
        long liveBase;
        using (Pipeline first = PipelineBuilder.Build(config))
        {
            DaemonJournal journal = first.Journal!;
            liveBase = journal.LiveBase;
            SinkCheckpointer checkpointer = Assert.Single(journal.Checkpointers);
            first.StartGraphs(Sequence.InitialValue);
            Publish(first.Ring, 0, 3000);
            Integration.Support.Eventually.True(() => checkpointer.Sequence == liveBase + 2999 && journal.DurableRingSequence == 2999,
                () => $"the checkpoint and the journal should reach the last event: {checkpointer.Sequence}, {journal.DurableRingSequence}");
            Assert.True(first.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
            Assert.True(journal.Close(TimeSpan.FromSeconds(10)), "the journal should close durable");
        }

        // As if the daemon died after writing events 1500.. to the file but before checkpointing them:
        // the checkpoint says event 1499 (not for the sink) and the file length after event 1498's line.
        string[] lines = File.ReadAllLines(OutPath);
        long offset = lines.Take(1000).Sum(l => Encoding.UTF8.GetByteCount(l) + 1);
        Assert.True(lines[999].Contains("\"n\":1498", StringComparison.Ordinal), $"line 1000 should be event 1498: {lines[999]}");
        using (SinkCheckpoint file = SinkCheckpoint.Open(CheckpointPath))
        {
            Assert.True(file.Write(new Checkpoint(liveBase + 1499, offset)) == 0, "the earlier checkpoint should be written");
        }

        using (Pipeline second = PipelineBuilder.Build(config))
        {
            DaemonJournal journal = second.Journal!;
            second.Start();
            Assert.True(journal.Replayed == 1500 && journal.FirstLive == 1500, $"events 1500..2999 should be replayed, {journal.Replayed} were (first live {journal.FirstLive})");
            SinkCheckpointer checkpointer = Assert.Single(journal.Checkpointers);
            Integration.Support.Eventually.True(() => checkpointer.Sequence == liveBase + 2999,
                () => $"the sink should checkpoint the last replayed event {liveBase + 2999}, is at {checkpointer.Sequence}");
            Assert.True(journal.Appended == 0, $"replayed events are not journaled again, {journal.Appended} were");
            Assert.True(journal.NextSequence == liveBase + 3000 && journal.JournalOf(journal.FirstLive) == liveBase + 3000,
                $"live events should number on from {liveBase + 3000}: next {journal.NextSequence}, first live carries {journal.JournalOf(journal.FirstLive)}");
            foreach (Source source in second.Sources)
            {
                source.Stop(TimeSpan.FromSeconds(5));
            }

            Assert.True(second.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
        }

        int[] numbers = [.. File.ReadAllLines(OutPath).Select(l => int.Parse(l[(l.IndexOf("\"n\":", StringComparison.Ordinal) + 4)..].TrimEnd('}'), System.Globalization.CultureInfo.InvariantCulture))];
        int[] expected = [.. Enumerable.Range(0, 3000).Where(i => i % 3 != 2)];
        Assert.True(numbers.SequenceEqual(expected),
            $"the file should hold each event for the sink once, in order: {numbers.Length} lines, {numbers.Length - numbers.Distinct().Count()} repeated, first difference at {Enumerable.Range(0, Math.Min(numbers.Length, expected.Length)).FirstOrDefault(i => numbers[i] != expected[i], -1)}");
    }

    [Fact]
    public void CheckpointFileName_KeepsTheSinkInsideTheDirectory()
    {
        Assert.True(DaemonJournal.CheckpointFileName("out_1-a") == "sink-out_1-a.checkpoint", "a plain name is kept as written");
        Assert.True(DaemonJournal.CheckpointFileName("../x") == "sink-%2E%2E%2Fx.checkpoint",
            $"dots and slashes are escaped, got {DaemonJournal.CheckpointFileName("../x")}");
    }
}
