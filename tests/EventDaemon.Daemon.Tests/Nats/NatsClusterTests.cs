using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Tests.Integration;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>
/// A 3-node nats cluster on loopback with a stream replicated on all three: the stream's leader,
/// then the consumer's leader, killed (SIGKILL) while the daemon consumes. Nothing JetStream
/// acknowledged to the publisher may be missing from the daemon's output.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class NatsClusterTests(ITestOutputHelper output)
{
    private const string Stream = "EVENTS";
    private const string Consumer = "eventd";
    private const int Total = 4_000;

    [Fact]
    public void StreamLeaderThenConsumerLeaderKilled_MidRun_NoAcknowledgedMessageIsLost()
    {
        NatsServer[] cluster = NatsServer.StartCluster(3);
        try
        {
            string urls = string.Join(",", cluster.Select(s => s.Url));
            using var probe = new JetStreamProbe(urls);
            probe.CreateReplicatedStreamAsync(Stream, 3, "events.>").GetAwaiter().GetResult();

            using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
                [sources.bus]
                type = "nats"
                url = "{urls}"
                stream = "{Stream}"
                consumer = "{Consumer}"
                ack_wait = "2s"

                [sinks.out]
                type = "file"
                inputs = ["bus"]
                path = "{l.File("out.jsonl")}"
                """, new DaemonOptions { RingSize = 4096, ArenaSize = "4MiB" });
            string path = daemon.Layout.File("out.jsonl");

            var stored = new bool[Total];
            Task publishing = Task.Run(async () =>
            {
                using var publisher = new JetStreamProbe(urls);
                for (int seq = 0; seq < Total; seq++)
                {
                    byte[] body = Encoding.UTF8.GetBytes($$"""{"type":"click","seq":{{seq}}}""");
                    stored[seq] = await publisher.PublishUntilStoredAsync("events.in", body, $"m{seq}");
                }
            });

            KillLeader(cluster, path, 1_000, "stream", () => probe.StreamLeaderAsync(Stream).GetAwaiter().GetResult());
            KillLeader(cluster, path, 2_500, "consumer", () => probe.ConsumerLeaderAsync(Stream, Consumer).GetAwaiter().GetResult());
            Assert.True(publishing.Wait(TimeSpan.FromMinutes(2)), "the publisher did not finish within 2 minutes");

            var acknowledged = Enumerable.Range(0, Total).Where(seq => stored[seq]).ToList();
            Eventually.True(() => acknowledged.Except(Sequences(path)).Any() == false,
                () => $"{acknowledged.Except(Sequences(path)).Count()} of {acknowledged.Count} acknowledged messages missing from the output, e.g. "
                    + $"{string.Join(',', acknowledged.Except(Sequences(path)).Take(5))}; {daemon.Stats().Describe("nats_acks_total")}; health: {daemon.Control("health")}",
                TimeSpan.FromSeconds(60));

            List<int> seqs = Sequences(path);
            int duplicates = seqs.Count - seqs.Distinct().Count();
            StatsSnapshot stats = daemon.Stats();
            double redelivered = stats.Value("nats_redelivered_total", ("source", "bus"));

            // A publish retried across a leader change may be stored twice (its id's dedupe entry
            // lost with the leader): the stream's own duplicates are the publisher's, not the daemon's.
            long storedTwice = probe.CountAsync(Stream).GetAwaiter().GetResult() - Total;
            output.WriteLine($"{acknowledged.Count} stored, {storedTwice} stored twice, {seqs.Count} lines, {duplicates} duplicates, {redelivered} redelivered, "
                + $"{stats.Value("nats_connects_total", ("source", "bus"))} connections");
            Assert.True(acknowledged.Count == Total, $"only {acknowledged.Count} of {Total} publishes were ever acknowledged by the cluster");
            Assert.True(duplicates <= redelivered + storedTwice,
                $"{duplicates} duplicates in the output, only {redelivered} redeliveries counted and {storedTwice} messages stored twice");
        }
        finally
        {
            foreach (NatsServer server in cluster)
            {
                server.Dispose();
            }
        }
    }

    /// <summary>Once the output has <paramref name="after"/> lines: kills the leader, waits for another, and starts the dead one again (keeping a quorum for the next kill).</summary>
    private void KillLeader(NatsServer[] cluster, string path, int after, string what, Func<string?> leaderOf)
    {
        Eventually.True(() => SinkFile.CountLines(path) >= after, () => $"the output has {SinkFile.CountLines(path)} of {after} lines before the {what} leader is killed");
        string leader = Eventually.Value(() => Safe(leaderOf), l => l is not null, _ => $"no {what} leader elected")!;
        NatsServer victim = cluster.Single(s => s.Name == leader);
        output.WriteLine($"killing the {what} leader {leader} at {SinkFile.CountLines(path)} lines");
        victim.Kill();
        Eventually.True(() => Safe(leaderOf) is { } next && next != leader, () => $"no new {what} leader after {leader} was killed");
        victim.Restart();
    }

    private static string? Safe(Func<string?> read)
    {
        try
        {
            return read();
        }
        catch (Exception)
        {
            return null;
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
