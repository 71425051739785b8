using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Tests.Integration;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>The published daemon consuming a real JetStream stream: nats source → filter → file, acks only once the sinks hold the events.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class NatsSourceTests(ITestOutputHelper output)
{
    private const string Stream = "EVENTS";
    private const string Consumer = "eventd";

    [Fact]
    public void NatsToFilterToFile_WritesEveryMatchingMessageOnce_AndAcksEveryMessage()
    {
        const int Clicks = 3_000;
        const int Views = 1_000;
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync(Stream, "events.>").GetAwaiter().GetResult();
        probe.PublishAsync("events.in", Messages(0, Clicks + Views, seq => seq % 4 == 3 ? "view" : "click")).GetAwaiter().GetResult();

        using DaemonProcess daemon = StartDaemon(server, l => $"""
            [sinks.out]
            type = "file"
            inputs = ["clicks"]
            path = "{l.File("out.jsonl")}"
            """);
        string path = daemon.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(path) >= Clicks,
            () => $"the file holds {SinkFile.CountLines(path)} of {Clicks} clicks: {daemon.Stats().Json}");

        List<int> seqs = Sequences(path);
        Assert.True(seqs.Count == Clicks, $"the file holds {seqs.Count} lines for {Clicks} clicks (duplicates?)");
        Assert.True(seqs.Distinct().Count() == Clicks, $"{seqs.Distinct().Count()} distinct clicks in the file, {Clicks} published");
        Assert.True(seqs.All(s => s % 4 != 3), "a view passed the filter");

        Eventually.True(() => probe.ConsumerStateAsync(Stream, Consumer).GetAwaiter().GetResult() is (0, 0, _),
            () => $"the consumer still has messages pending or unacknowledged: {probe.ConsumerStateAsync(Stream, Consumer).GetAwaiter().GetResult()}; {daemon.Stats().Describe("nats_acks_total")}");
        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("nats_acks_total", ("source", "bus")) == Clicks + Views,
            $"{stats.Value("nats_acks_total", ("source", "bus"))} acks for {Clicks + Views} messages: {stats.Describe("nats_acks_total")}");
        Assert.True(stats.Value("nats_redelivered_total", ("source", "bus")) == 0, $"messages delivered twice in a clean run: {stats.Describe("nats_redelivered_total")}");
        Assert.True(stats.Value("events_received_total", ("source", "bus")) == Clicks + Views, $"not every message became an event: {stats.Describe("events_received_total")}");
    }

    [Fact]
    public void SinkHoldsBack_MessagesStayUnacknowledged_WithProgressAcks_UntilThePeerReads()
    {
        // Big events and a peer that reads nothing: the kernel's socket buffers fill, the sink
        // stops, and the messages behind it must stay unacknowledged (and not be redelivered:
        // progress acks) for longer than the ack_wait.
        const int Total = 12_000;
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync(Stream, "events.>").GetAwaiter().GetResult();
        string pad = new('p', 1000);
        probe.PublishAsync("events.in", Messages(0, Total, _ => "click", pad)).GetAwaiter().GetResult();

        using DaemonProcess daemon = StartDaemon(server, l => $"""
            [sinks.out]
            type = "tcp"
            inputs = ["clicks"]
            address = "{l.Address("sink")}"
            """, ackWait: "2s", maxAckPending: 2000);
        using var listener = new SinkListener(daemon.Layout.Port("sink"));

        // Held: the sink is blocked and messages wait unacknowledged.
        Eventually.True(() => daemon.Control("health").Contains("sink out blocked", StringComparison.Ordinal),
            () => $"the sink never blocked on the peer that reads nothing: {daemon.Control("health")}; {listener.Describe()}");
        (long held, _, _) = probe.ConsumerStateAsync(Stream, Consumer).GetAwaiter().GetResult();
        Assert.True(held > 0, "no message unacknowledged while the sink is blocked: acks went out before the sink held the events");

        // Longer than the ack_wait (2 s): still held, by progress acks rather than redeliveries.
        DateTime until = DateTime.UtcNow + TimeSpan.FromSeconds(4);
        while (DateTime.UtcNow < until)
        {
            (long pending, _, long redelivered) = probe.ConsumerStateAsync(Stream, Consumer).GetAwaiter().GetResult();
            Assert.True(pending > 0, $"every message acknowledged while the sink's peer still reads nothing ({listener.Describe()})");
            Assert.True(redelivered == 0, $"{redelivered} messages redelivered while held: progress acks did not keep them");
            Thread.Sleep(250);
        }

        StatsSnapshot stalled = daemon.Stats();
        double acked = stalled.Value("nats_acks_total", ("source", "bus"));
        Assert.True(acked < Total, $"all {Total} messages acknowledged while the sink was blocked");
        Assert.True(stalled.Value("nats_progress_acks_total", ("source", "bus")) > 0, $"no progress ack during a hold longer than ack_wait: {stalled.Json}");

        listener.StartReading();
        Eventually.True(() => listener.Lines >= Total, () => $"the peer has {listener.Lines} of {Total} lines: {daemon.Stats().Json}");
        Eventually.True(() => probe.ConsumerStateAsync(Stream, Consumer).GetAwaiter().GetResult() is (0, 0, _),
            () => $"messages still unacknowledged after the peer read everything: {probe.ConsumerStateAsync(Stream, Consumer).GetAwaiter().GetResult()}");
        Assert.True(listener.Lines == Total, $"the peer has {listener.Lines} lines for {Total} messages");
    }

    [Fact]
    public void TwoInstancesShareTheConsumer_OneKilled_EveryMessageArrivesAtLeastOnce_DuplicatesCounted()
    {
        const int Total = 20_000;
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync(Stream, "events.>").GetAwaiter().GetResult();

        // Published while both run, so that the victim dies mid-stream.
        Task publishing = Task.Run(() => probe.PublishAsync("events.in", Messages(0, Total, _ => "click")));
        Func<DaemonLayout, string> toFile = l => $"""
            [sinks.out]
            type = "file"
            inputs = ["clicks"]
            path = "{l.File("out.jsonl")}"
            """;
        using DaemonProcess victim = StartDaemon(server, toFile, ackWait: "2s");
        using DaemonProcess survivor = StartDaemon(server, toFile, ackWait: "2s");
        string victimFile = victim.Layout.File("out.jsonl");
        string survivorFile = survivor.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(victimFile) >= 1_000 && SinkFile.CountLines(survivorFile) >= 1_000,
            () => $"the two instances did not share the work: {SinkFile.CountLines(victimFile)} and {SinkFile.CountLines(survivorFile)} lines");
        PosixSignal.Send(victim.Pid, 9);
        victim.WaitForExit();
        publishing.GetAwaiter().GetResult();

        Eventually.True(() => probe.ConsumerStateAsync(Stream, Consumer).GetAwaiter().GetResult() is (0, 0, _),
            () => $"messages left pending after the victim's ack_wait: {probe.ConsumerStateAsync(Stream, Consumer).GetAwaiter().GetResult()}; {survivor.Stats().Describe("nats_acks_total")}");

        List<int> all = [.. Sequences(victimFile), .. Sequences(survivorFile)];
        var missing = Enumerable.Range(0, Total).Except(all).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} messages in neither file, e.g. {string.Join(',', missing.Take(5))}");
        int duplicates = all.Count - all.Distinct().Count();
        double redelivered = survivor.Stats().Value("nats_redelivered_total", ("source", "bus"));
        output.WriteLine($"{all.Count} lines for {Total} messages: {duplicates} duplicates, {redelivered} redelivered to the survivor");
        Assert.True(duplicates <= redelivered, $"{duplicates} duplicates in the output, but the survivor counted only {redelivered} redeliveries");
    }

    [Fact]
    public void NoServerReachable_StartsAnyway_AndHealthSaysSo()
    {
        int nobody = TestPorts.Next();
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.bus]
            type = "nats"
            url = "nats://127.0.0.1:{nobody}"
            stream = "{Stream}"
            consumer = "{Consumer}"

            [sinks.out]
            type = "blackhole"
            inputs = ["bus"]
            """);
        string health = daemon.Control("health");
        Assert.True(health.Contains("source bus: cannot reach any nats server", StringComparison.Ordinal),
            $"health does not say the source cannot reach its server:\n{health}");
    }

    [Fact]
    public void MissingStream_RunRefusesInOneLineNamingIt()
    {
        using NatsServer server = NatsServer.Start();
        var layout = new DaemonLayout(Directory.CreateTempSubdirectory("edt-nats-").FullName);
        try
        {
            File.WriteAllText(layout.ConfigPath, $"""
                [sources.bus]
                type = "nats"
                url = "{server.Url}"
                stream = "NOSUCH"
                consumer = "eventd"

                [sinks.out]
                type = "blackhole"
                inputs = ["bus"]
                """);
            CliResult validate = EventdBinary.Run("validate", "--config", layout.ConfigPath);
            Assert.True(validate.ExitCode == 0, $"validate cannot know which streams exist and should accept\n{validate.Describe()}");

            CliResult run = EventdBinary.Run(["run", "--config", layout.ConfigPath], asNobody: false, TimeSpan.FromSeconds(15));
            Assert.True(run.ExitCode == 1, $"run should refuse a missing stream with exit code 1\n{run.Describe()}");
            run.AssertNoStackTrace();
            Assert.True(run.StderrLines.Length == 1 && run.StderrLines[0].Contains("stream 'NOSUCH' does not exist", StringComparison.Ordinal),
                $"run should refuse in one line naming the stream\n{run.Describe()}");
        }
        finally
        {
            Directory.Delete(layout.Directory, recursive: true);
        }
    }

    private DaemonProcess StartDaemon(NatsServer server, Func<DaemonLayout, string> sink, string ackWait = "30s", int maxAckPending = 1000) =>
        DaemonProcess.Start(output, l => $"""
            [sources.bus]
            type = "nats"
            url = "{server.Url}"
            stream = "{Stream}"
            consumer = "{Consumer}"
            subject = "events.>"
            format = "json"
            batch = 256
            ack_wait = "{ackWait}"
            max_ack_pending = {maxAckPending}

            [transforms.clicks]
            type = "filter"
            inputs = ["bus"]
            condition = 'type == "click"'

            {sink(l)}
            """, new DaemonOptions { RingSize = 4096, ArenaSize = "4MiB" });

    private static IEnumerable<byte[]> Messages(int from, int to, Func<int, string> type, string pad = "")
    {
        for (int seq = from; seq < to; seq++)
        {
            yield return Encoding.UTF8.GetBytes($$"""{"type":"{{type(seq)}}","seq":{{seq}},"pad":"{{pad}}"}""");
        }
    }

    private static List<int> Sequences(string path)
    {
        var seqs = new List<int>();
        foreach (byte[] line in SinkFile.Lines(path))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            seqs.Add(json.RootElement.GetProperty("seq").GetInt32());
        }

        return seqs;
    }
}
