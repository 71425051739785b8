using System.Net.Sockets;
using System.Text.Json;
using EventDaemon.Client;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// The journal against the real binary under <c>kill -9</c>: a binary client that requests acks
/// numbers its frames and sends them under load to a tcp source while the daemon is killed at
/// random moments and started again on the same journal and port; after each kill it reconnects
/// and resends what was not acked. Each start replays what the file sink had not checkpointed and
/// what the aggregate's open windows held; at the end no acked frame is missing from the file, none
/// is in it more often than it was sent, and the aggregate's file holds every window once, equal to
/// the same aggregation recomputed from the events in the first file.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class JournalCrashLoopTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>At least this many kills; EVENTD_CRASH_KILLS raises it (make crash-loop: 200).</summary>
    private static readonly int Kills = int.TryParse(Environment.GetEnvironmentVariable("EVENTD_CRASH_KILLS"), out int k) && k > 30 ? k : 30;

    private readonly string _state = Directory.CreateTempSubdirectory("eventd-crash-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_state, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // Retention far below the ~10 MB/s the client sends: segments are deleted and recycled all
    // through the loop, so kills also land between a checkpoint and the deletion it allows.
    private string Topology(int port) => $"""
        [journal]
        segment_bytes = "4MiB"
        retention_bytes = "16MiB"
        fsync = "batch"

        [sources.in]
        type = "tcp"
        address = "127.0.0.1:{port}"
        format = "binary"

        [sinks.out]
        type = "file"
        inputs = ["in"]
        path = "{Path.Combine(_state, "out.jsonl")}"

        [transforms.per_key]
        type = "aggregate"
        inputs = ["in"]
        window = "1s"
        group_by = ["key"]
        metrics = ["count", "sum"]
        time = "event"
        allowed_lateness = "{LatenessSeconds}s"

        [sinks.windows]
        type = "file"
        inputs = ["per_key"]
        path = "{Path.Combine(_state, "windows.jsonl")}"
        """;

    /// <summary>Room for a frame resent after a kill (its event time is its number's, older than what
    /// the daemon saw before the kill): seconds of event time, a few hundred thousand frames.</summary>
    private const int LatenessSeconds = 5;

    [Fact]
    public void KillNine_AtRandomMoments_AnAckingClientResends_NoAckedFrameIsMissing_NoneIsDuplicated_AndVerifyPassesAfterEveryKill()
    {
        var options = new DaemonOptions { DaemonSettings = $"state_dir = \"{_state}\"", RingSize = 4096, ArenaSize = "4MiB" };

        // One port for every start: the client reconnects to where it was (EventClient.Reconnect).
        int port = TestPorts.Next();
        var random = new Random(13);
        long replayed = 0;
        // About two minutes for the 30 kills of the test path; the long run gets 3 s a kill.
        long deadline = Environment.TickCount64 + Math.Max(100_000, Kills * 3_000L);
        var sender = new AckingSender(port);
        int kills = 0;
        long ackedBeforeLastKill = 0;
        try
        {
            for (; kills < Kills && Environment.TickCount64 < deadline; kills++)
            {
                using DaemonProcess daemon = DaemonProcess.Start(output, l => Topology(port), options);
                if (kills == 0)
                {
                    // The client connects once; every later daemon it reaches by reconnecting.
                    sender.Start();
                }

                long ackedAtStart = sender.Acknowledged;
                Eventually.True(() => sender.Acknowledged > ackedAtStart, () => $"start {kills + 1}: no frame acked since the start ({sender.Acknowledged} in all)");
                // Most lives end within the second, some outlast a retention run of the status loop.
                Thread.Sleep(random.Next(4) == 0 ? random.Next(1000, 1500) : random.Next(50, 400));
                replayed += (long)daemon.Stats().Value("journal_replayed_total");
                daemon.Signal(9);
                daemon.WaitForExit();
                ackedBeforeLastKill = sender.Acknowledged;

                CliResult verify = EventdBinary.Run("journal", "verify", "--config", daemon.ConfigPath);
                Assert.True(verify.ExitCode == 0, $"journal verify after kill {kills + 1} should exit 0: {verify.Describe()}");
            }
        }
        finally
        {
            sender.Stop();
        }

        // One more start: the client resends what no daemon acked, waits until all is acked, and a
        // drain (SIGTERM) then closes the file.
        EventClient client = sender.Client;
        using (DaemonProcess last = DaemonProcess.Start(output, l => Topology(port), options))
        {
            replayed += (long)last.Stats().Value("journal_replayed_total");
            sender.ReconnectOnce();
            Assert.True(client.WaitForAcks(TimeSpan.FromSeconds(60)), $"{client.UnacknowledgedFrames} frames not acked by the last start");
            client.Dispose();
            last.Signal(15);
            Assert.True(last.WaitForExit(TimeSpan.FromSeconds(30)) == 0, $"the drain after the last start should exit 0: {last.Stderr}");
        }

        long sent = client.EventsAppended;
        output.WriteLine($"{kills} kills; {sent} frames numbered and sent; {ackedBeforeLastKill} acked before the last kill; " +
            $"{client.FramesResent} resent after {sender.Reconnects} reconnects; {replayed} events replayed over all starts");
        Assert.True(kills >= 30, $"the loop should reach 30 kills within its time, reached {kills}");
        Assert.True(client.FramesResent > 0, "some kill should have left frames unacked for the client to resend; the resend was not exercised");
        Assert.True(replayed > 0, "some start should have replayed events the file sink had not checkpointed; the replay was not exercised");
        string[] segments = Directory.GetFiles(Path.Combine(_state, "journal"), "*.journal");
        Assert.True(!segments.Any(p => Path.GetFileName(p) == JournalLayout.SegmentName(0)) && segments.Length * 4L < sent * 100 / (1 << 20) / 2,
            $"retention should have deleted or recycled most of the ~{sent * 100 / (1 << 20)} MiB the client sent: {segments.Length} segments of 4 MiB are left, " +
            $"the first {(segments.Length == 0 ? "none" : Path.GetFileName(segments.Min()))}");

        // The file: every frame is acked by now, so every one is in it. A frame resent after a kill
        // may have been journaled before the kill without its ack reaching the client (at least
        // once); it may be there once more per resend, and a frame never resent is there once.
        var inFile = new int[sent];
        long lines = 0;
        foreach (string line in File.ReadLines(Path.Combine(_state, "out.jsonl")))
        {
            long n = Number(line);
            Assert.True(n >= 0 && n < sent, $"the file holds frame {n}, which the client never sent (it sent 0 to {sent - 1})");
            inFile[n]++;
            lines++;
        }

        long[] missing = [.. Enumerable.Range(0, (int)sent).Where(n => inFile[n] == 0).Select(n => (long)n).Take(5)];
        Assert.True(missing.Length == 0,
            $"{inFile.Count(c => c == 0)} of the {sent} acknowledged frames are missing from the file, e.g. {string.Join(", ", missing)} (acked before the last kill: {ackedBeforeLastKill})");
        long[] duplicated = [.. Enumerable.Range(0, (int)sent).Where(n => inFile[n] > 1 + sender.Resends(n)).Select(n => (long)n).Take(5)];
        Assert.True(duplicated.Length == 0,
            $"{Enumerable.Range(0, (int)sent).Count(n => inFile[n] > 1 + sender.Resends(n))} frames are in the file more often than they were sent, e.g. " +
            string.Join(", ", duplicated.Select(n => $"{n} ({inFile[n]} times, resent {sender.Resends(n)})")));
        output.WriteLine($"{lines} lines in the file; {lines - sent} are resent frames the journal had already taken before a kill");

        // The aggregate saw exactly the events the first file holds (each journaled event once,
        // resent duplicates included), and the drain closed every window: recomputed from that file,
        // every (window, key) has the same count and sum, and the aggregate's file has each once.
        var expected = new Dictionary<(long Window, string Key), (long Count, double Sum)>();
        for (long n = 0; n < sent; n++)
        {
            if (inFile[n] > 0)
            {
                var group = (AckingSender.EventTimeOf(n) / 1_000_000_000 * 1_000_000_000, AckingSender.KeyOf(n));
                (long count, double sum) = expected.GetValueOrDefault(group);
                expected[group] = (count + inFile[n], sum + ((double)n * inFile[n]));
            }
        }

        var seen = new Dictionary<(long Window, string Key), (long Count, double Sum)>();
        var twice = new List<string>();
        foreach (string line in File.ReadLines(Path.Combine(_state, "windows.jsonl")))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            JsonElement root = json.RootElement;
            var group = (root.GetProperty("window_start").GetInt64(), root.GetProperty("key").GetString()!);
            if (!seen.TryAdd(group, (root.GetProperty("count").GetInt64(), root.GetProperty("sum").GetDouble())))
            {
                twice.Add(line);
            }
        }

        Assert.True(twice.Count == 0, $"{twice.Count} window results are in the aggregate's file more than once, e.g. {string.Join(" | ", twice.Take(3))}");
        string[] wrong = [.. expected
            .Where(e => !seen.TryGetValue(e.Key, out var got) || got != e.Value)
            .Select(e => $"window {(e.Key.Window - AckingSender.EpochNanos) / 1_000_000_000} key {e.Key.Key}: recomputed {e.Value.Count} events (sum {e.Value.Sum}), " +
                (seen.TryGetValue(e.Key, out var got) ? $"the aggregate wrote {got.Count} (sum {got.Sum})" : "the aggregate wrote none"))];
        string[] extra = [.. seen.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"window {(k.Window - AckingSender.EpochNanos) / 1_000_000_000} key {k.Key}")];
        output.WriteLine($"{seen.Count} window results in the aggregate's file; {expected.Count} recomputed from the events");
        Assert.True(wrong.Length == 0 && extra.Length == 0,
            $"{wrong.Length} of {expected.Count} recomputed windows differ from the aggregate's, and {extra.Length} it wrote have no event: " +
            string.Join("; ", wrong.Take(5).Concat(extra.Take(5))));
    }

    [Fact]
    public void Sigterm_WithAFileSinkThatCannotWrite_TimesOut_ButExitsZero_TheEventsBeingInTheJournal()
    {
        // /dev/full fails every write with ENOSPC: the sink retries, the drain times out.
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [journal]
            segment_bytes = "4MiB"

            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "file"
            inputs = ["in"]
            path = "/dev/full"
            """, new DaemonOptions { DaemonSettings = $"state_dir = \"{_state}\"\ndrain_timeout = \"1s\"" });
        using (Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in")))
        {
            TestSockets.SendAll(socket, string.Concat(Enumerable.Range(0, 100).Select(i => $"{{\"type\":\"t\",\"n\":{i}}}\n")));
        }

        Eventually.True(() => daemon.Stats().Value("journal_durable_sequence") >= 99, () => $"the 100 events should be durable: {daemon.Stats().Json}");
        daemon.Signal(15);
        int exitCode = daemon.WaitForExit();
        Assert.True(exitCode == 0, $"a drain that times out with every event in the journal should exit 0, got {exitCode}; stderr:\n{daemon.Stderr}");
        Assert.True(daemon.Stderr.Contains("the next start replays them", StringComparison.Ordinal), $"the log should say the events are replayed next start:\n{daemon.Stderr}");
    }

    /// <summary>The frame number in one line of the file sink (its <c>value</c>).</summary>
    private static long Number(string line)
    {
        using JsonDocument json = JsonDocument.Parse(line);
        return (long)json.RootElement.GetProperty("value").GetDouble();
    }
}
