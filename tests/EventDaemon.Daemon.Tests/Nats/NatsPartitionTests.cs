using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Sinks.Transports;
using EventDaemon.Daemon.Tests.Integration;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>
/// Sources that own partitions of a stream written with <c>{partition}</c> subjects: a fixed list
/// per instance, and partitions claimed through leases in a key-value bucket that move to the
/// survivor when an instance is killed.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class NatsPartitionTests(ITestOutputHelper output)
{
    private const string Stream = "EVENTS";
    private const int Partitions = 4;

    [Fact]
    public void TwoInstancesOwningDisjointPartitions_EachSeesOnlyItsOwn_TogetherEveryMessageOnce()
    {
        const int Keys = 64;
        const int EventsPerKey = 50;
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync(Stream, "events.>").GetAwaiter().GetResult();

        // The ingest tier: a tcp source and a nats sink that partitions by key.
        using DaemonProcess ingest = DaemonProcess.Start(output, l => $$"""
            [sources.tcp_in]
            type = "tcp"
            address = "{{l.Address("tcp")}}"

            [sinks.bus]
            type = "nats"
            inputs = ["tcp_in"]
            url = "{{server.Url}}"
            subject = "events.{partition}"
            partition_by = "key"
            partitions = {{Partitions}}
            """);
        using DaemonProcess low = StartOwner(server, "[0, 3]");
        using DaemonProcess high = StartOwner(server, "[1, 2]");

        var text = new StringBuilder();
        for (int seq = 0; seq < Keys * EventsPerKey; seq++)
        {
            text.Append($$"""{"type":"click","key":"k{{seq % Keys}}","seq":{{seq}}}""").Append('\n');
        }

        using (Socket socket = TestSockets.ConnectTcp(ingest.Layout.Port("tcp")))
        {
            TestSockets.SendAll(socket, Encoding.UTF8.GetBytes(text.ToString()));
            socket.Shutdown(SocketShutdown.Send);
        }

        const int Total = Keys * EventsPerKey;
        string lowFile = low.Layout.File("out.jsonl");
        string highFile = high.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(lowFile) + SinkFile.CountLines(highFile) >= Total,
            () => $"{SinkFile.CountLines(lowFile)} + {SinkFile.CountLines(highFile)} of {Total} events consumed; ingest: {ingest.Stats().Describe("sink_events_written_total")}; "
                + $"health: {low.Control("health")} / {high.Control("health")}");

        List<(int Seq, int Partition)> lowEvents = Events(lowFile);
        List<(int Seq, int Partition)> highEvents = Events(highFile);
        Assert.True(lowEvents.All(e => e.Partition is 0 or 3), $"the owner of [0, 3] got partitions {string.Join(',', lowEvents.Select(e => e.Partition).Distinct())}");
        Assert.True(highEvents.All(e => e.Partition is 1 or 2), $"the owner of [1, 2] got partitions {string.Join(',', highEvents.Select(e => e.Partition).Distinct())}");
        Assert.True(lowEvents.Count > 0 && highEvents.Count > 0, $"one owner got nothing: {lowEvents.Count} and {highEvents.Count} events (are the keys spread?)");
        List<int> all = [.. lowEvents.Select(e => e.Seq), .. highEvents.Select(e => e.Seq)];
        Assert.True(all.Count == Total && all.Distinct().Count() == Total,
            $"{all.Count} events consumed, {all.Distinct().Count()} distinct, {Total} sent: every message once over both owners");
        Assert.True(low.Stats().Value("nats_partitions_owned", ("source", "bus")) == 2, $"the owner of two partitions reports {low.Stats().Describe("nats_partitions_owned")}");
    }

    [Fact]
    public void LeasedPartitions_SplitBetweenTwoInstances_MoveToTheSurvivorOfAKill_EveryMessageAtLeastOnce()
    {
        const int Total = 8_000;
        const int LeaseSeconds = 3;
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync(Stream, "events.>").GetAwaiter().GetResult();

        using DaemonProcess victim = StartOwner(server, "\"auto\"", $"lease_ttl = \"{LeaseSeconds}s\"");
        Eventually.True(() => Owned(victim) == Partitions, () => $"the only instance holds {Owned(victim)} of {Partitions} partitions: {victim.Control("health")}");
        using DaemonProcess survivor = StartOwner(server, "\"auto\"", $"lease_ttl = \"{LeaseSeconds}s\"");
        Eventually.True(() => Owned(victim) == Partitions / 2 && Owned(survivor) == Partitions / 2,
            () => $"the partitions were not split: {Owned(victim)} and {Owned(survivor)} held; {survivor.Control("health")}");

        // Published while both consume, so that the victim dies with messages in flight.
        Task publishing = Task.Run(() => Publish(probe, 0, Total));
        string victimFile = victim.Layout.File("out.jsonl");
        string survivorFile = survivor.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(victimFile) >= 500 && SinkFile.CountLines(survivorFile) >= 500,
            () => $"both instances should consume their partitions: {SinkFile.CountLines(victimFile)} and {SinkFile.CountLines(survivorFile)} lines");
        PosixSignal.Send(victim.Pid, 9);
        victim.WaitForExit();
        var moving = Stopwatch.StartNew();

        // The documented bound: the victim's keys age out one TTL after its last renewal, and the survivor's next round (TTL/3) claims them.
        TimeSpan bound = TimeSpan.FromSeconds(LeaseSeconds * 4.0 / 3 + 2);
        Eventually.True(() => Owned(survivor) == Partitions,
            () => $"the survivor holds {Owned(survivor)} of {Partitions} partitions {moving.Elapsed.TotalSeconds:0.0} s after the kill: {survivor.Control("health")}", bound);
        output.WriteLine($"the survivor held every partition {moving.Elapsed.TotalSeconds:0.0} s after the kill (bound {bound.TotalSeconds:0.0} s)");
        publishing.GetAwaiter().GetResult();

        List<int> all = [.. Events(victimFile).Select(e => e.Seq)];
        Eventually.True(() => Events(survivorFile).Select(e => e.Seq).Concat(all).Distinct().Count() == Total,
            () => $"{Events(survivorFile).Select(e => e.Seq).Concat(all).Distinct().Count()} of {Total} messages in either file; {survivor.Stats().Describe("nats_acks_total")}");
        all.AddRange(Events(survivorFile).Select(e => e.Seq));
        int duplicates = all.Count - all.Distinct().Count();
        StatsSnapshot stats = survivor.Stats();
        double redelivered = stats.Value("nats_redelivered_total", ("source", "bus"));
        output.WriteLine($"{all.Count} lines for {Total} messages: {duplicates} duplicates, {redelivered} redelivered to the survivor; "
            + $"{stats.Describe("nats_lease_claims_total")} {stats.Describe("nats_lease_renewals_total")}");
        Assert.True(duplicates <= redelivered, $"{duplicates} duplicates in the output, but the survivor counted only {redelivered} redeliveries");
        Assert.True(stats.Value("nats_lease_renewals_total", ("source", "bus")) > 0, $"no lease renewal counted: {stats.Describe("nats_lease_renewals_total")}");
        Assert.True(!survivor.Control("health").Contains("owns no partition", StringComparison.Ordinal), $"health of the survivor: {survivor.Control("health")}");
    }

    [Fact]
    public void LeasedPartitions_MoreInstancesThanPartitions_HealthSaysWhichOneOwnsNone()
    {
        using NatsServer server = NatsServer.Start();
        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync(Stream, "events.>").GetAwaiter().GetResult();
        using DaemonProcess first = StartOwner(server, "\"auto\"", "lease_ttl = \"3s\"", partitionCount: 1);
        Eventually.True(() => Owned(first) == 1, () => $"the first instance holds {Owned(first)} of the 1 partition: {first.Control("health")}");
        using DaemonProcess second = StartOwner(server, "\"auto\"", "lease_ttl = \"3s\"", partitionCount: 1);
        // "2 instances": the newcomer has done a lease round (heartbeat, count, claim) and found nothing free.
        Eventually.True(() => second.Control("health").Contains("owns no partition of 1 (2 instances", StringComparison.Ordinal),
            () => $"health of the instance with nothing to consume: {second.Control("health")}");
        Assert.True(Owned(first) == 1, $"the first instance lost its partition to a newcomer: {first.Control("health")}");
    }

    private static double Owned(DaemonProcess daemon) => daemon.Stats().Value("nats_partitions_owned", ("source", "bus"));

    private DaemonProcess StartOwner(NatsServer server, string partitions, string more = "", int partitionCount = Partitions) =>
        DaemonProcess.Start(output, l => $"""
            [sources.bus]
            type = "nats"
            url = "{server.Url}"
            stream = "{Stream}"
            consumer = "agg"
            subject = "events.{"{partition}"}"
            partitions = {partitions}
            partition_count = {partitionCount}
            ack_wait = "2s"
            {more}

            [sinks.out]
            type = "file"
            inputs = ["bus"]
            path = "{l.File("out.jsonl")}"
            """, new DaemonOptions { RingSize = 4096, ArenaSize = "4MiB" });

    /// <summary>Publishes events the way the nats sink does: each to the subject of its key's partition.</summary>
    private static async Task Publish(JetStreamProbe probe, int from, int to)
    {
        for (int seq = from; seq < to; seq++)
        {
            byte[] body = Encoding.UTF8.GetBytes($$"""{"type":"click","key":"k{{seq % 97}}","seq":{{seq}}}""");
            await probe.PublishAsync($"events.{NatsTransport.PartitionOf(body, "key"u8, Partitions)}", [body]);
        }
    }

    private static List<(int Seq, int Partition)> Events(string path)
    {
        var events = new List<(int, int)>();
        foreach (byte[] line in SinkFile.Lines(path))
        {
            using JsonDocument json = JsonDocument.Parse(line);
            events.Add((json.RootElement.GetProperty("seq").GetInt32(), NatsTransport.PartitionOf(line, "key"u8, Partitions)));
        }

        return events;
    }
}
