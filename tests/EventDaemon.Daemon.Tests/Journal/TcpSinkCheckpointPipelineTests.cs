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
/// A tcp sink of the main stream in a pipeline with a journal: it checkpoints what the peer's TCP
/// has acknowledged, so a start resends only what follows its checkpoint (at least once), not
/// everything since the oldest file sink's.
/// </summary>
public sealed class TcpSinkCheckpointPipelineTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private EventdConfig Config(int port) => ConfigTesting.Valid($$"""
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

        [sinks.out]
        type = "tcp"
        inputs = ["in"]
        address = "127.0.0.1:{{port}}"
        """);

    private static void Publish(EventRing ring, int from, int to, int padding = 0)
    {
        string pad = padding > 0 ? $",\"pad\":\"{new string('x', padding)}\"" : "";
        using IngestBatch batch = ring.BeginBatch(runIdleStages: false);
        for (int i = from; i < to; i++)
        {
            byte[] line = Encoding.UTF8.GetBytes($$"""{"type":"t"{{pad}},"n":{{i}}}""");
            var slot = default(EventSlot);
            Assert.True(JsonEventParser.TryParse(line, ref slot, out _), $"event {i} should parse");
            slot.IngestNanos = MonotonicClock.NowNanos();
            slot.PayloadLength = line.Length;
            Assert.True(batch.TryAppend(ref slot, line, wait: true), $"event {i} did not fit in the ring");
        }
    }

    private static int[] Numbers(byte[] received) =>
        [.. Encoding.UTF8.GetString(received).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => int.Parse(l[(l.IndexOf("\"n\":", StringComparison.Ordinal) + 4)..].TrimEnd('}'), System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public void TcpSink_CheckpointsWhatThePeerAcknowledged_AndAStartResendsOnlyWhatFollowsIt()
    {
        using var peer = new TestTcpPeer();
        EventdConfig config = Config(peer.Port);
        long liveBase;
        using (Pipeline first = PipelineBuilder.Build(config))
        {
            DaemonJournal journal = first.Journal!;
            liveBase = journal.LiveBase;
            SinkCheckpointer checkpointer = Assert.Single(journal.Checkpointers);
            first.StartGraphs(Sequence.InitialValue);
            Publish(first.Ring, 0, 3000);
            Integration.Support.Eventually.True(() => checkpointer.Sequence == liveBase + 2999 && journal.DurableRingSequence == 2999,
                () => $"once the peer has every byte the checkpoint should reach the last event {liveBase + 2999}: at {checkpointer.Sequence} ({checkpointer.LastError})");
            Assert.True(first.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
            Assert.True(journal.Close(TimeSpan.FromSeconds(10)), "the journal should close durable");
        }

        // Acknowledged by the peer's TCP is in its kernel: the test's reader may not have it yet.
        Received received = peer.Connection(0, TimeSpan.FromSeconds(10));
        Integration.Support.Eventually.True(() => received.WaitFor(received.Length, TimeSpan.FromSeconds(1)).Count(b => b == (byte)'\n') >= 3000,
            () => $"the peer should receive 3000 lines, has {received.Length} bytes");
        int[] firstNumbers = Numbers(received.WaitFor(received.Length, TimeSpan.FromSeconds(10)));
        Assert.True(firstNumbers.SequenceEqual(Enumerable.Range(0, 3000)), $"the first run should send events 0..2999 once, sent {firstNumbers.Length}");

        // As if the daemon died before the peer had acknowledged events 1500..: the checkpoint says 1499.
        using (SinkCheckpoint file = SinkCheckpoint.Open(Path.Combine(_directory.Path, "journal", DaemonJournal.CheckpointFileName("out"))))
        {
            Assert.True(file.Write(new Checkpoint(liveBase + 1499, 0)) == 0, "the earlier checkpoint should be written");
        }

        using (Pipeline second = PipelineBuilder.Build(config))
        {
            DaemonJournal journal = second.Journal!;
            second.Start();
            Assert.True(journal.Replayed == 1500, $"events 1500..2999 should be replayed, {journal.Replayed} were");
            SinkCheckpointer checkpointer = Assert.Single(journal.Checkpointers);
            Integration.Support.Eventually.True(() => checkpointer.Sequence == liveBase + 2999,
                () => $"the sink should checkpoint the last replayed event {liveBase + 2999} again, is at {checkpointer.Sequence}");
            foreach (Source source in second.Sources)
            {
                source.Stop(TimeSpan.FromSeconds(5));
            }

            Assert.True(second.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
        }

        Integration.Support.Eventually.True(() => peer.ConnectionCount >= 2, () => "the second run should connect to the peer again");
        Received resent = peer.Connection(1, TimeSpan.FromSeconds(10));
        Integration.Support.Eventually.True(() => Numbers(resent.WaitFor(resent.Length, TimeSpan.FromSeconds(1))).Length >= 1500,
            () => $"the second run should resend 1500 events, the peer has {resent.Length} bytes");
        int[] again = Numbers(resent.WaitFor(resent.Length, TimeSpan.FromSeconds(10)));
        Assert.True(again.SequenceEqual(Enumerable.Range(1500, 1500)),
            $"a start should resend exactly the events after the checkpoint (1500..2999), sent {again.Length} from {again.FirstOrDefault(-1)}");
    }

    [Fact]
    public void TcpSink_DoesNotCheckpointWhatThePeerHasNotAcknowledged_ThenDoesOnceItReads()
    {
        using var peer = new StalledTcpPeer();
        using Pipeline pipeline = PipelineBuilder.Build(Config(peer.Port));
        DaemonJournal journal = pipeline.Journal!;
        SinkCheckpointer checkpointer = Assert.Single(journal.Checkpointers);
        pipeline.StartGraphs(Sequence.InitialValue);

        // Far more than the peer's small receive window, and far less than what the kernel's send
        // buffer takes on loopback (autotuned to 4 MiB): the sink hands every batch to the kernel
        // and is done, while most bytes wait in its send queue, unacknowledged by the peer's TCP.
        Publish(pipeline.Ring, 0, 3000, padding: 400);
        Stages.Metrics.StageMetrics sink = pipeline.StageMetrics.Single(m => m.Name == "out");
        Integration.Support.Eventually.True(() => Volatile.Read(ref sink.Counters.Written) == 3000,
            () => $"the sink should hand every event to the kernel: written {sink.Counters.Written}, blocked since {sink.Sink.BlockedSince}");

        // A checkpoint that took "written" for "delivered" would pass every event within one commit
        // interval of the last write: it must stay behind them for several.
        var watched = System.Diagnostics.Stopwatch.StartNew();
        while (watched.ElapsedMilliseconds < 5 * SinkCheckpointer.UnsyncedCommitMs)
        {
            Assert.True(checkpointer.Sequence < journal.LiveBase + 2999,
                $"with the peer reading nothing the checkpoint must stay behind the events in the kernel's queue, is at {checkpointer.Sequence} after {watched.ElapsedMilliseconds} ms");
            Thread.Sleep(10);
        }

        peer.StartReading();
        Integration.Support.Eventually.True(() => checkpointer.Sequence == journal.LiveBase + 2999,
            () => $"once the peer has read everything the checkpoint should reach the last event {journal.LiveBase + 2999}, is at {checkpointer.Sequence}");
        Assert.True(pipeline.HaltGraphs(TimeSpan.FromSeconds(10)), "the graphs should halt");
    }
}
