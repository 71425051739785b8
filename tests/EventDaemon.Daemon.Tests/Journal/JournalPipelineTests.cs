using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Control;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Runtime;
using EventDaemon.Daemon.Tests.Config;
using EventDaemon.Daemon.Tests.Sinks;
using EventDaemon.Events;
using EventDaemon.Events.Codecs;
using EventDaemon.Events.Ingest;
using EventDaemon.Ring;
using Xunit;

namespace EventDaemon.Daemon.Tests.Journal;

/// <summary>The journal stage in a built pipeline: a leaf of the main ring, kept across reloads, closed durable.</summary>
public sealed class JournalPipelineTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private EventdConfig Config(string retention = "8GiB") => ConfigTesting.Valid($$"""
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
        type = "blackhole"
        inputs = ["keep"]
        """);

    private static byte[] Line(int n) => Encoding.UTF8.GetBytes($$"""{"type":"t","n":{{n}}}""");

    private static void Publish(EventRing ring, int from, int to)
    {
        using IngestBatch batch = ring.BeginBatch(runIdleStages: false);
        for (int i = from; i < to; i++)
        {
            byte[] line = Line(i);
            var slot = default(EventSlot);
            Assert.True(JsonEventParser.TryParse(line, ref slot, out _), $"event {i} should parse");
            slot.IngestNanos = MonotonicClock.NowNanos();
            slot.PayloadLength = line.Length;
            Assert.True(batch.TryAppend(ref slot, line, wait: true), $"event {i} did not fit in the ring");
        }
    }

    private static void WaitDurable(DaemonJournal journal, long ringSequence) =>
        Integration.Support.Eventually.True(() => journal.DurableRingSequence >= ringSequence,
            () => $"the journal made ring sequence {journal.DurableRingSequence} durable, expected {ringSequence}: {journal.Problem}",
            TimeSpan.FromSeconds(10));

    [Fact]
    public void Pipeline_WithJournal_JournalsEveryPublishedEvent_AcrossAReload_AndClosesDurable()
    {
        EventdConfig config = Config();
        long liveBase;
        using (Pipeline pipeline = PipelineBuilder.Build(config))
        {
            DaemonJournal journal = pipeline.Journal ?? throw new InvalidOperationException("a [journal] table should give the pipeline a journal");
            liveBase = journal.LiveBase;
            Assert.True(journal.DurableRingSequence == -1, $"nothing published, nothing durable; got ring sequence {journal.DurableRingSequence}");
            Assert.True(pipeline.AllStages.Any(s => s.Name == DaemonJournal.StageName), "the journal stage should be in the main ring's graph");
            pipeline.StartGraphs(Sequence.InitialValue);
            Publish(pipeline.Ring, 0, 3000);
            WaitDurable(journal, 2999);

            // A reload replaces the graph: the new one journals on the same writer, numbering on.
            ControlReply reloaded = Reloader.Reload(pipeline, ConfigLoader.Parse(config.ToString(), "reload.toml"));
            Assert.True(reloaded.Ok, $"an unchanged config should reload: {reloaded.Text}");
            Assert.True(ReferenceEquals(journal, pipeline.Journal), "the journal should survive a reload");
            Publish(pipeline.Ring, 3000, 5000);
            WaitDurable(journal, 4999);
            Assert.True(journal.Appended == 5000, $"5000 events published, {journal.Appended} appended");

            Assert.True(pipeline.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
            Assert.True(journal.Close(TimeSpan.FromSeconds(10)), "everything written should be durable at close");
        }

        var damage = new List<JournalDamage>();
        using var reader = new JournalReader(JournalState.ListSegments(Path.Combine(_directory.Path, "journal"), damage), 0);
        int n = 0;
        while (reader.TryRead(out JournalEntry entry, out ReadOnlySpan<byte> payload))
        {
            Assert.True(entry.Sequence == liveBase + n, $"record {n} should carry sequence {liveBase + n}, carries {entry.Sequence}");
            Assert.True(payload.SequenceEqual(Line(n)), $"record {n} should hold the event's original bytes");
            n++;
        }

        Assert.True(n == 5000, $"read back {n} records, expected 5000");
        Assert.True(damage.Count == 0 && reader.LostRecords == 0, $"an intact journal should read back without damage: {string.Join("; ", damage)}");
    }

    [Fact]
    public void SecondPipeline_OnTheSameJournal_IsRefusedWithOneLine_AndANextStartNumbersOn()
    {
        EventdConfig config = Config();
        using (Pipeline first = PipelineBuilder.Build(config))
        {
            PipelineException refused = Assert.Throws<PipelineException>(() => PipelineBuilder.Build(config));
            Assert.True(refused.Message.Contains("in use by another process", StringComparison.Ordinal), $"unexpected message: {refused.Message}");
            first.StartGraphs(Sequence.InitialValue);
            Publish(first.Ring, 0, 10);
            WaitDurable(first.Journal!, 9);
            Assert.True(first.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
        }

        // The lock goes with the last descriptor of the directory: a process another test forks at
        // that moment holds a copy until its exec closes it (O_CLOEXEC), so the next start may
        // have to ask again for a moment.
        Pipeline? next = null;
        Integration.Support.Eventually.True(() => TryBuild(config, out next), () => "the journal stayed locked after the first pipeline was disposed");
        using Pipeline second = next!;
        Assert.True(second.Journal!.LiveBase == 10, $"the next start should number on after the 10 journaled events, starts at {second.Journal.LiveBase}");
    }

    private static bool TryBuild(EventdConfig config, out Pipeline? pipeline)
    {
        try
        {
            pipeline = PipelineBuilder.Build(config);
            return true;
        }
        catch (PipelineException e) when (e.Message.Contains("in use by another process", StringComparison.Ordinal))
        {
            pipeline = null;
            return false;
        }
    }

    [Fact]
    public void Retention_DeletesOnlySegmentsEveryStageHasPassed_OnceTheJournalExceedsRetentionBytes()
    {
        using Pipeline pipeline = PipelineBuilder.Build(Config(retention: "3MiB"));
        DaemonJournal journal = pipeline.Journal!;
        Assert.True(pipeline.RetainJournal() == 0, "an empty journal has nothing to delete");

        // About 64 bytes a record: 150 000 events fill three 3 MiB segments and start a fourth.
        pipeline.StartGraphs(Sequence.InitialValue);
        Publish(pipeline.Ring, 0, 150_000);
        WaitDurable(journal, 149_999);
        int before = journal.SegmentCount;
        Assert.True(before >= 3, $"150 000 events should span three segments or more, span {before}");
        Integration.Support.Eventually.True(() => pipeline.AllStages.All(s => s.Position == 149_999), () => "every stage should reach the last event", TimeSpan.FromSeconds(10));

        int deleted = pipeline.RetainJournal();
        Assert.True(deleted == before - 1, $"every segment but the one being written should go ({before - 1}), {deleted} went");
        Assert.True(journal.SegmentCount == 1 && journal.DiskBytes == 3L << 20, $"one segment should stay, {journal.SegmentCount} did ({journal.DiskBytes} bytes)");
        Assert.True(journal.RecordsLost == 0, $"retention of delivered records loses nothing, counted {journal.RecordsLost}");
        Assert.True(pipeline.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
    }
}
