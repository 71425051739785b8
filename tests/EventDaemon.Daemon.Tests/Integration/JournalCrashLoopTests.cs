using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Journal;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// The journal against the real binary under <c>kill -9</c>: a client numbers its events and sends
/// them under load to a tcp (JSON) source while the daemon is killed at random moments and started
/// again on the same journal. Acknowledgements are not built yet, so "made durable" is what
/// <c>journal_durable_sequence</c> in <c>stats json</c> reported before each kill. Each start replays
/// what the file sink had not checkpointed; at the end the file holds every durable event once.
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

    private string Topology(DaemonLayout l) => $"""
        [journal]
        segment_bytes = "4MiB"
        fsync = "batch"

        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "json"

        [sinks.out]
        type = "file"
        inputs = ["in"]
        path = "{Path.Combine(_state, "out.jsonl")}"
        """;

    [Fact]
    public void KillNine_AtRandomMoments_LosesNoDurableEvent_DuplicatesNone_AndVerifyPassesAfterEveryKill()
    {
        var options = new DaemonOptions { DaemonSettings = $"state_dir = \"{_state}\"", RingSize = 4096, ArenaSize = "4MiB" };
        var random = new Random(13);
        long next = 0;
        long durableReported = -1;
        long replayed = 0;
        // About two minutes for the 30 kills of the test path; the long run gets 3 s a kill.
        long deadline = Environment.TickCount64 + Math.Max(150_000, Kills * 3_000L);
        int kills = 0;
        for (; kills < Kills && Environment.TickCount64 < deadline; kills++)
        {
            using DaemonProcess daemon = DaemonProcess.Start(output, Topology, options);
            using var stop = new CancellationTokenSource();
            long from = next;
            var sender = new Thread(() => next = Send(daemon.Layout.Port("in"), from, stop.Token)) { IsBackground = true };
            sender.Start();
            Thread.Sleep(random.Next(50, 400));
            replayed += (long)daemon.Stats().Value("journal_replayed_total");

            // What the daemon said was durable, read just before the kill (acks will replace this).
            double durable = daemon.Stats().Value("journal_durable_sequence");
            durableReported = Math.Max(durableReported, (long)durable);
            daemon.Signal(9);
            daemon.WaitForExit();
            stop.Cancel();
            Assert.True(sender.Join(TimeSpan.FromSeconds(10)), "the sender should stop once the daemon is gone");

            CliResult verify = EventdBinary.Run("journal", "verify", "--config", daemon.ConfigPath);
            Assert.True(verify.ExitCode == 0, $"journal verify after kill {kills + 1} should exit 0: {verify.Describe()}");
        }

        // One more start replays what the last kill left undelivered; a drain (SIGTERM) then closes the file.
        using (DaemonProcess last = DaemonProcess.Start(output, Topology, options))
        {
            replayed += (long)last.Stats().Value("journal_replayed_total");
            last.Signal(15);
            Assert.True(last.WaitForExit(TimeSpan.FromSeconds(30)) == 0, $"the drain after the last start should exit 0: {last.Stderr}");
        }

        output.WriteLine($"{kills} kills; {next} events sent; durable reported up to journal sequence {durableReported}; {replayed} events replayed over all starts");
        Assert.True(kills >= 30, $"the loop should reach 30 kills within its time, reached {kills}");
        Assert.True(durableReported > 0, "the daemon should have reported events durable before some kill; the test checked nothing");

        // Every journal sequence up to the last one reported durable is there, once, and no event
        // the client sent is journaled twice (the client never resends).
        var damage = new List<JournalDamage>();
        using var reader = new JournalReader(JournalState.ListSegments(Path.Combine(_state, "journal"), damage), 0);
        var seen = new HashSet<long>();
        var durableEvents = new List<long>();
        long expected = 0;
        while (reader.TryRead(out JournalEntry entry, out ReadOnlySpan<byte> payload))
        {
            Assert.True(entry.Sequence == expected, $"journal sequence {expected} should follow, found {entry.Sequence}");
            long n = Number(payload);
            Assert.True(seen.Add(n), $"event {n} is journaled twice (second at sequence {entry.Sequence})");
            if (entry.Sequence <= durableReported)
            {
                durableEvents.Add(n);
            }

            expected++;
        }

        Assert.True(expected - 1 >= durableReported, $"the journal ends at {expected - 1}, before {durableReported} which the daemon reported durable");
        Assert.True(damage.Count == 0 && reader.LostRecords == 0, $"kill -9 should damage nothing: {string.Join("; ", damage)}, {reader.LostRecords} lost");

        // The file: every event reported durable is in it exactly once, and no event is in it twice.
        var inFile = new Dictionary<long, int>();
        foreach (string line in File.ReadLines(Path.Combine(_state, "out.jsonl")))
        {
            long n = Number(Encoding.UTF8.GetBytes(line));
            inFile[n] = inFile.GetValueOrDefault(n) + 1;
        }

        long[] twice = [.. inFile.Where(p => p.Value > 1).Select(p => p.Key).Take(5)];
        Assert.True(twice.Length == 0, $"{inFile.Count(p => p.Value > 1)} events are in the file more than once, e.g. {string.Join(", ", twice)}");
        long[] missing = [.. durableEvents.Where(n => !inFile.ContainsKey(n)).Take(5)];
        Assert.True(missing.Length == 0,
            $"{durableEvents.Count(n => !inFile.ContainsKey(n))} of the {durableEvents.Count} events reported durable are missing from the file, e.g. {string.Join(", ", missing)}");
        Assert.True(replayed > 0, "some start should have replayed events the file sink had not checkpointed; the replay was not exercised");
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

    /// <summary>Sends events numbered from <paramref name="from"/> until the daemon dies or told to stop; returns the next number.</summary>
    private static long Send(int port, long from, CancellationToken stop)
    {
        long n = from;
        try
        {
            using Socket socket = TestSockets.ConnectTcp(port);
            var batch = new StringBuilder();
            while (!stop.IsCancellationRequested)
            {
                batch.Clear();
                for (int i = 0; i < 200; i++)
                {
                    batch.Append(CultureInfo.InvariantCulture, $"{{\"type\":\"t\",\"n\":{n + i}}}\n");
                }

                TestSockets.SendAll(socket, batch.ToString());
                n += 200;
            }
        }
        catch (SocketException)
        {
            // The daemon was killed: what it had not read is lost, and was never reported durable.
        }

        return n;
    }

    private static long Number(ReadOnlySpan<byte> payload)
    {
        string text = Encoding.UTF8.GetString(payload);
        int at = text.IndexOf("\"n\":", StringComparison.Ordinal) + 4;
        int end = text.IndexOfAny([',', '}'], at);
        return long.Parse(text.AsSpan(at, end - at), CultureInfo.InvariantCulture);
    }
}
