using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// The journal's damage rules (SPEC §7, JOURNAL.md "Reading back and damage") against the real
/// binary: a daemon with a journal and a file sink takes numbered events, is killed with SIGKILL,
/// its files are damaged, and it is started again. It always starts; what it keeps, what it counts
/// in <c>journal_records_lost_total</c> and what <c>eventd journal verify</c> says are exactly what
/// the damage must cost. Where a test needs the file to show what the journal holds, it removes
/// the file and the sink's checkpoint, so the sink takes the whole journal again from its oldest record.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class JournalDamageTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("eventd-damage-").FullName;
    private string? _mounted;

    private string Journal => Path.Combine(_state, "journal");

    private string OutPath => Path.Combine(_state, "out.jsonl");

    private string CheckpointPath => Path.Combine(Journal, "sink-out.checkpoint");

    public void Dispose()
    {
        if (_mounted is not null)
        {
            // Every daemon of the test has exited by now (each is disposed inside it): nothing holds the mount.
            if (Run("umount", _mounted).ExitCode != 0)
            {
                Run("umount", "-l", _mounted);
            }
        }

        try
        {
            Directory.Delete(_state, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private DaemonProcess Start(string journal = "", string sink = "") => DaemonProcess.Start(output, l => $"""
        [journal]
        segment_bytes = "3MiB"
        fsync = "batch"
        {journal}

        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "json"

        [sinks.out]
        type = "file"
        inputs = ["in"]
        path = "{OutPath}"
        {sink}
        """, new DaemonOptions { DaemonSettings = $"state_dir = \"{_state}\"" });

    [Fact]
    public void TornFinalRecord_IsTruncated_NothingElseIsLost_AndNumberingResumesWhereTheTornGroupBegan()
    {
        using (DaemonProcess first = Start())
        {
            SendInBatches(first, batches: 4, perBatch: 50);
            Kill(first);
        }

        string segment = SegmentGroups.Segments(Journal).Single();
        SegmentGroup last = SegmentGroups.Read(segment)[^1];
        long tornAt = last.RecordOffsets[^1] + 20;
        SegmentGroups.Zero(segment, tornAt, (int)(last.End - tornAt));
        ForgetTheSink();

        CliResult verify = EventdBinary.Run("journal", "verify", "--config", ConfigOf());
        Assert.True(verify.ExitCode == 0 && verify.Stdout.Contains("torn final write", StringComparison.Ordinal),
            $"a torn final write was never acknowledged: verify should exit 0 with a note: {verify.Describe()}");

        using DaemonProcess second = Start();
        long kept = last.FirstSequence;
        StatsSnapshot stats = second.Stats();
        Assert.True(stats.Value("journal_records_lost_total") == 0, $"a torn tail is not a loss (it was never durable): {stats.Json}");
        Assert.True(stats.Value("journal_replayed_total") == kept, $"the journal should replay the {kept} records before the torn group: {stats.Json}");
        Assert.True(second.Stderr.Contains("torn final write", StringComparison.Ordinal), $"the start should say it zeroed a torn write:\n{second.Stderr}");

        Send(second, 1_000, 10);
        WaitDurable(second, kept + 9);
        List<long> numbers = WaitForLines(kept + 10);
        long[] expected = [.. Range(0, kept), .. Range(1_000, 10)];
        Assert.True(numbers.SequenceEqual(expected),
            $"the file should hold 0..{kept - 1} (every record before the torn group) then the 10 new events, got {Describe(numbers)}");
    }

    [Fact]
    public void FlippedBitInTheMiddleOfASegment_SkipsToTheNextGroup_CountsTheLossFromTheStart_LogsItOnce_AndRepairClearsIt()
    {
        using (DaemonProcess first = Start())
        {
            SendInBatches(first, batches: 4, perBatch: 50);
            WaitCheckpoint(first, 199);
            Kill(first);
        }

        string segment = SegmentGroups.Segments(Journal).Single();
        List<SegmentGroup> groups = SegmentGroups.Read(segment);
        Assert.True(groups.Count >= 3, $"four batches sent one after another should be at least three groups, found {groups.Count}");
        SegmentGroup hit = groups[groups.Count / 2];
        int record = hit.Records / 2;
        long at = hit.RecordOffsets[record];
        Journal_FlipBit(segment, at + Daemon.Journal.JournalLayout.RecordHeaderBytes + 2);
        long lost = hit.Records - record;
        long[] missing = Range(hit.FirstSequence + record, lost);
        string where = $"{Path.GetFileName(segment)} at offset {at}";

        CliResult damaged = EventdBinary.Run("journal", "verify", "--config", ConfigOf());
        Assert.True(damaged.ExitCode == 1 && damaged.Stderr.Contains(where, StringComparison.Ordinal),
            $"verify should exit 1 naming {where}: {damaged.Describe()}");

        // The sink's checkpoint is past every record: nothing is replayed, and the loss is counted by the start alone.
        using (DaemonProcess second = Start())
        {
            StatsSnapshot stats = second.Stats();
            Assert.True(stats.Value("journal_records_lost_total") == lost && stats.Value("journal_replayed_total") == 0,
                $"the start should count the {lost} records of the damaged group from the bad one on, with nothing replayed: {stats.Json}");
            int logged = second.Stderr.Split('\n').Count(l => l.Contains(where, StringComparison.Ordinal));
            Assert.True(logged == 1, $"the damage should be logged once naming {where}, was {logged} times:\n{second.Stderr}");
            Assert.True(SinkFile.CountLines(OutPath) == 200, "the file sink's own copy is not the journal's: it keeps all 200");
            second.Signal(PosixSignal.SigTerm);
            Assert.True(second.WaitForExit() == 0, $"the drain should exit 0:\n{second.Stderr}");
        }

        // The sink takes the journal again from its oldest record: the replay reads past the damage
        // to the next group, and the same loss is not counted twice.
        ForgetTheSink();
        using (DaemonProcess third = Start())
        {
            StatsSnapshot stats = third.Stats();
            Assert.True(stats.Value("journal_records_lost_total") == lost && stats.Value("journal_replayed_total") == 200 - lost,
                $"a replay over the damage should count its {lost} records once and replay the other {200 - lost}: {stats.Json}");
            List<long> numbers = WaitForLines(200 - lost);
            long[] expected = [.. Range(0, 200).Except(missing)];
            Assert.True(numbers.SequenceEqual(expected),
                $"the file should hold every event but {missing[0]}..{missing[^1]}, got {Describe(numbers)}");
            third.Signal(PosixSignal.SigTerm);
            Assert.True(third.WaitForExit() == 0, $"the drain should exit 0:\n{third.Stderr}");
        }

        CliResult repaired = EventdBinary.Run("journal", "repair", "--config", ConfigOf());
        Assert.True(repaired.ExitCode == 0, $"repair should keep the intact records and exit 0: {repaired.Describe()}");
        CliResult after = EventdBinary.Run("journal", "verify", "--config", ConfigOf());
        Assert.True(after.ExitCode == 0 && after.Stdout.Contains($"{200 - lost} records", StringComparison.Ordinal),
            $"the repaired journal verifies with its {200 - lost} intact records: {after.Describe()}");
    }

    [Fact]
    public void TruncatedSegment_KeepsItsReadableRecords_AndTheNextSegments_CountingWhatWasCut()
    {
        const int Events = 15_000;
        using (DaemonProcess first = Start())
        {
            // About 280 bytes a record: two 3 MiB segments.
            Send(first, 0, Events, pad: 200);
            WaitDurable(first, Events - 1);
            Kill(first);
        }

        string[] segments = SegmentGroups.Segments(Journal);
        Assert.True(segments.Length >= 2, $"{Events} events of ~280 bytes should fill more than one 3 MiB segment: {string.Join(", ", segments)}");
        List<SegmentGroup> groups = SegmentGroups.Read(segments[0]);
        SegmentGroup cut = groups[groups.Count / 2];
        // Cut inside a record of that group: the group cannot be read whole, those before it can.
        using (var file = new FileStream(segments[0], FileMode.Open, FileAccess.Write))
        {
            file.SetLength(cut.RecordOffsets[cut.Records / 2] + 8);
        }

        long next = SegmentGroups.FirstSequence(segments[1]);
        long lost = next - cut.FirstSequence;
        ForgetTheSink();

        CliResult damaged = EventdBinary.Run("journal", "verify", "--config", ConfigOf());
        Assert.True(damaged.ExitCode == 1 && damaged.Stderr.Contains(Path.GetFileName(segments[0]), StringComparison.Ordinal)
            && damaged.Stderr.Contains($"offset {cut.Offset}", StringComparison.Ordinal),
            $"verify should exit 1 naming {Path.GetFileName(segments[0])} and offset {cut.Offset}: {damaged.Describe()}");

        using (DaemonProcess second = Start())
        {
            StatsSnapshot stats = second.Stats();
            Assert.True(stats.Value("journal_records_lost_total") == lost && stats.Value("journal_replayed_total") == Events - lost,
                $"the replay should keep {Events - lost} records and count the {lost} cut off ({cut.FirstSequence}..{next - 1}): {stats.Json}");
            List<long> numbers = WaitForLines(Events - lost);
            long[] expected = [.. Range(0, cut.FirstSequence), .. Range(next, Events - next)];
            Assert.True(numbers.SequenceEqual(expected),
                $"the file should hold 0..{cut.FirstSequence - 1} and {next}..{Events - 1}, got {Describe(numbers)}");
            second.Signal(PosixSignal.SigTerm);
            Assert.True(second.WaitForExit() == 0, $"the drain should exit 0:\n{second.Stderr}");
        }

        CliResult repaired = EventdBinary.Run("journal", "repair", "--config", ConfigOf());
        CliResult after = EventdBinary.Run("journal", "verify", "--config", ConfigOf());
        Assert.True(repaired.ExitCode == 0 && after.ExitCode == 0, $"repair should leave a journal that verifies: {repaired.Describe()}\n{after.Describe()}");
    }

    [Fact]
    public void MissingCheckpoint_TheSinkTakesTheWholeJournalAgain_AtLeastOnce()
    {
        using (DaemonProcess first = Start())
        {
            Send(first, 0, 100);
            WaitDurable(first, 99);
            WaitCheckpoint(first, 99);
            Kill(first);
        }

        File.Delete(CheckpointPath);
        using DaemonProcess second = Start();
        StatsSnapshot stats = second.Stats();
        Assert.True(stats.Value("journal_replayed_total") == 100 && stats.Value("journal_records_lost_total") == 0,
            $"with its checkpoint gone the sink should take all 100 records again, none lost: {stats.Json}");
        List<long> numbers = WaitForLines(200);
        long[] twice = [.. Range(0, 100), .. Range(0, 100)];
        Assert.True(numbers.SequenceEqual(twice),
            $"the file, kept whole (nothing says where to cut it), should hold 0..99 from before and 0..99 replayed, got {Describe(numbers)}");
        WaitCheckpoint(second, 99);
    }

    [Fact]
    public void FullFilesystem_BlocksTheJournalAndTheSources_ThenDropOldestFreesASegmentAndCountsIt_NeverCrashing()
    {
        Directory.CreateDirectory(Journal);
        CliResult mount = Run("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", Journal);
        if (mount.ExitCode != 0)
        {
            output.WriteLine($"cannot mount a tmpfs (the test runs as root to make a small full disk): {mount.Describe()}");
            Assert.Fail($"mounting an 8 MiB tmpfs on {Journal} was refused: {mount.Describe()}");
        }

        _mounted = Journal;
        // The file sink syncs hourly, so its checkpoint never passes a record: every segment is still
        // needed, retention frees nothing, and a dropped segment's records are all lost.
        const string HourlySink = "fsync = \"interval\"\nfsync_interval = \"1h\"";
        const int Events = 150_000;
        string[] segments;
        using (DaemonProcess first = Start(sink: HourlySink))
        {
            // ~20 MB of events for a disk that holds two 3 MiB segments and not a third.
            using var sender = new BlockingSender(first.Layout.Port("in"), Events);
            Eventually.True(() => first.Control("health").Contains("journal", StringComparison.Ordinal) && sender.StalledFor(TimeSpan.FromSeconds(1)),
                () => $"the journal should block on the full disk and push back to the sender: health {first.Control("health")}; {sender.Sent} events sent");
            StatsSnapshot stats = first.Stats();
            Assert.True(!sender.Finished && stats.Value("journal_appended_total") < Events,
                $"the sender should be held back with {Events - stats.Value("journal_appended_total")} events not taken: {stats.Json}");
            Assert.True(!first.HasExited, $"the daemon should wait on the full disk, not exit:\n{first.Stderr}");
            Kill(first);
            AssertNoCrash(first.Stderr);
            segments = SegmentGroups.Segments(Journal);
        }

        Assert.True(segments.Length == 2, $"the 8 MiB disk should hold two segments: {string.Join(", ", segments)}");
        long dropped = SegmentGroups.FirstSequence(segments[1]);
        using (DaemonProcess second = Start(journal: "when_full = \"drop_oldest\"", sink: HourlySink))
        {
            StatsSnapshot stats = Eventually.Value(second.Stats, s => s.Value("journal_records_lost_total") > 0 && !File.Exists(segments[0]),
                s => $"with drop_oldest the oldest segment should go, its {dropped} records counted: {s.Json}");
            Assert.True(stats.Value("journal_records_lost_total") == dropped,
                $"the dropped segment held sequences 0..{dropped - 1}, none delivered: {stats.Json}");
            Eventually.True(() => second.Control("health").StartsWith("ok", StringComparison.Ordinal), () => $"the journal should go on once space is freed: {second.Control("health")}");
            long durable = (long)stats.Value("journal_durable_sequence");
            Send(second, 0, 100);
            WaitDurable(second, durable + 100);
            Kill(second);
            AssertNoCrash(second.Stderr);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------

    /// <summary>A config that finds the same journal, for <c>eventd journal verify|repair</c>.</summary>
    private string ConfigOf()
    {
        string path = Path.Combine(_state, "verify.toml");
        File.WriteAllText(path, $"""
            [daemon]
            state_dir = "{_state}"

            [journal]
            segment_bytes = "3MiB"

            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """);
        return path;
    }

    /// <summary>Removes the file and its checkpoint: the sink then takes every record the journal holds, once.</summary>
    private void ForgetTheSink()
    {
        File.Delete(OutPath);
        File.Delete(CheckpointPath);
    }

    private static void Journal_FlipBit(string path, long offset) => Tests.Journal.JournalTestSupport.FlipBit(path, offset);

    private static void Kill(DaemonProcess daemon)
    {
        daemon.Signal(9);
        daemon.WaitForExit();
    }

    private static void AssertNoCrash(string stderr) =>
        Assert.False(stderr.Contains("SIGBUS", StringComparison.Ordinal) || stderr.Contains("   at ", StringComparison.Ordinal)
            || stderr.Contains("Unhandled exception", StringComparison.Ordinal), $"the daemon crashed or printed a stack trace:\n{stderr}");

    private static string Line(long n, int pad) => $$"""{"type":"t","n":{{n}},"pad":"{{new string('p', pad)}}"}""" + "\n";

    private static void Send(DaemonProcess daemon, long from, int count, int pad = 40)
    {
        var text = new StringBuilder();
        for (long n = from; n < from + count; n++)
        {
            text.Append(Line(n, pad));
        }

        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        TestSockets.SendAll(socket, text.ToString());
    }

    /// <summary>Batches sent one after another, each durable before the next: at least one group each.</summary>
    private static void SendInBatches(DaemonProcess daemon, int batches, int perBatch)
    {
        for (int b = 0; b < batches; b++)
        {
            Send(daemon, (long)b * perBatch, perBatch);
            WaitDurable(daemon, ((long)b + 1) * perBatch - 1);
        }
    }

    private static void WaitDurable(DaemonProcess daemon, long sequence) =>
        Eventually.True(() => daemon.Stats().Value("journal_durable_sequence") >= sequence,
            () => $"journal sequence {sequence} should become durable: {daemon.Stats().Json}");

    private static void WaitCheckpoint(DaemonProcess daemon, long sequence) =>
        Eventually.True(() => daemon.Stats().Value("sink_checkpoint_sequence", ("sink", "out")) >= sequence,
            () => $"the file sink's checkpoint should reach {sequence}: {daemon.Stats().Describe("sink_checkpoint_sequence")}");

    /// <summary>The events' numbers in the file, once it holds <paramref name="count"/> lines.</summary>
    private List<long> WaitForLines(long count)
    {
        Eventually.True(() => SinkFile.CountLines(OutPath) >= count, () => $"the file should reach {count} lines, has {SinkFile.CountLines(OutPath)}");
        return SinkFile.TextLines(OutPath).ConvertAll(line =>
        {
            using JsonDocument json = JsonDocument.Parse(line);
            return json.RootElement.GetProperty("n").GetInt64();
        });
    }

    private static long[] Range(long from, long count) => [.. Enumerable.Range(0, (int)count).Select(i => from + i)];

    /// <summary>A list of numbers in messages: its length, its ends, and where it first departs from counting up.</summary>
    private static string Describe(List<long> numbers)
    {
        int jump = numbers.Count < 2 ? -1 : Enumerable.Range(1, numbers.Count - 1).FirstOrDefault(i => numbers[i] != numbers[i - 1] + 1, -1);
        return numbers.Count == 0 ? "nothing"
            : $"{numbers.Count} lines, {numbers[0]}..{numbers[^1]}" + (jump < 0 ? "" : $", first jump {numbers[jump - 1]} -> {numbers[jump]} at line {jump}");
    }

    private static CliResult Run(params string[] args)
    {
        var start = new ProcessStartInfo(args[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return new CliResult(string.Join(' ', args), process.ExitCode, stdout, stderr);
    }

    /// <summary>Sends numbered events as fast as the daemon takes them, on its own thread, until done or the socket fails.</summary>
    private sealed class BlockingSender : IDisposable
    {
        private readonly Socket _socket;
        private readonly Thread _thread;
        private long _sent;
        private long _progressAt = Environment.TickCount64;
        private volatile bool _finished;

        public BlockingSender(int port, int events)
        {
            _socket = TestSockets.ConnectTcp(port);
            _socket.SendTimeout = 0; // blocks for as long as the daemon pushes back: that is what is watched
            _thread = new Thread(() => Run(events)) { IsBackground = true, Name = "full-disk-sender" };
            _thread.Start();
        }

        public long Sent => Interlocked.Read(ref _sent);

        public bool Finished => _finished;

        /// <summary>No event went out for <paramref name="time"/> while more were waiting to go.</summary>
        public bool StalledFor(TimeSpan time) => !_finished && Environment.TickCount64 - Interlocked.Read(ref _progressAt) >= time.TotalMilliseconds;

        private void Run(int events)
        {
            try
            {
                const int Chunk = 500;
                for (int from = 0; from < events; from += Chunk)
                {
                    var text = new StringBuilder();
                    for (int n = from; n < from + Chunk; n++)
                    {
                        text.Append(Line(n, 100));
                    }

                    TestSockets.SendAll(_socket, text.ToString());
                    Interlocked.Add(ref _sent, Chunk);
                    Interlocked.Exchange(ref _progressAt, Environment.TickCount64);
                }

                _finished = true;
            }
            catch (SocketException)
            {
                // The daemon was killed under a blocked send.
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            _socket.Dispose();
            _thread.Join(TimeSpan.FromSeconds(10));
        }
    }
}
