using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventDaemon.Daemon.Tests.Integration;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>The published daemon publishing to a real JetStream: tcp source → nats sink → stream contents.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class NatsSinkTests(ITestOutputHelper output)
{
    private const int Connections = 4;
    private const int EventsEach = 2_500;

    [Fact]
    public void TcpToNats_PutsEveryEventInTheStreamExactlyOnce()
    {
        using NatsServer server = NatsServer.Start();
        using (var probe = new JetStreamProbe(server.Url))
        {
            probe.CreateStreamAsync("EVENTS", "events.>").GetAwaiter().GetResult();
        }

        using DaemonProcess daemon = StartDaemon(server);
        SendEvents(daemon, 0, EventsEach);

        const int Total = Connections * EventsEach;
        using var reader = new JetStreamProbe(server.Url);
        Eventually.True(() => reader.CountAsync("EVENTS").GetAwaiter().GetResult() >= Total,
            () => $"the stream holds {reader.CountAsync("EVENTS").GetAwaiter().GetResult()} of {Total} events; {daemon.Stats().Describe("sink_errors_total")}");

        List<byte[]> bodies = reader.ReadAllAsync("EVENTS").GetAwaiter().GetResult();
        Assert.True(bodies.Count == Total, $"the stream holds {bodies.Count} messages, {Total} events were sent (duplicates?)");
        var seen = new HashSet<(string, int)>();
        foreach (byte[] body in bodies)
        {
            using JsonDocument json = JsonDocument.Parse(body);
            (string, int) id = (json.RootElement.GetProperty("conn").GetString()!, json.RootElement.GetProperty("seq").GetInt32());
            Assert.True(seen.Add(id), $"event {id} is in the stream twice");
        }

        Assert.True(seen.Count == Total, $"{seen.Count} distinct events in the stream, {Total} sent");
        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("sink_events_written_total", ("sink", "bus")) == Total,
            $"the sink counts {stats.Value("sink_events_written_total", ("sink", "bus"))} written, {Total} are in the stream: {stats.Describe("sink_events_written_total")}");
    }

    [Fact]
    public void NoStreamForTheSubject_CountsErrors_AndDeliversOnceTheStreamExists()
    {
        using NatsServer server = NatsServer.Start();
        using DaemonProcess daemon = StartDaemon(server);
        using (Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("tcp")))
        {
            TestSockets.SendAll(socket, Encoding.UTF8.GetBytes("{\"conn\":\"late\",\"seq\":0}\n"));
            socket.Shutdown(SocketShutdown.Send);
        }

        Eventually.True(() => daemon.Stats().Value("sink_errors_total", ("sink", "bus")) > 0,
            () => $"no sink error counted while no stream captures the subject: {daemon.Stats().Json}");
        Assert.True(daemon.Stats().Value("sink_events_written_total", ("sink", "bus")) == 0, "an event counted written while no stream could hold it");

        using var probe = new JetStreamProbe(server.Url);
        probe.CreateStreamAsync("EVENTS", "events.>").GetAwaiter().GetResult();
        Eventually.True(() => probe.CountAsync("EVENTS").GetAwaiter().GetResult() == 1,
            () => $"the stream holds {probe.CountAsync("EVENTS").GetAwaiter().GetResult()} events after it was created, expected the 1 held back");
    }

    [Fact]
    public void ServerRestart_MidRun_LosesNothingAndStoresNothingTwice()
    {
        using NatsServer server = NatsServer.Start();
        using (var probe = new JetStreamProbe(server.Url))
        {
            probe.CreateStreamAsync("EVENTS", "events.>").GetAwaiter().GetResult();
        }

        using DaemonProcess daemon = StartDaemon(server);
        SendEvents(daemon, 0, EventsEach / 2);
        Eventually.True(() => daemon.Stats().Value("sink_events_written_total", ("sink", "bus")) >= Connections * (EventsEach / 2),
            () => $"the first half not written before the restart: {daemon.Stats().Json}");

        // Graceful (SIGTERM): on 2.9 a PubAck does not mean fsynced, and what is tested here is the
        // sink's reconnection and replay, not the server's durability under SIGKILL.
        server.Restart(graceful: true);
        SendEvents(daemon, EventsEach / 2, EventsEach);

        const int Total = Connections * EventsEach;
        using var reader = new JetStreamProbe(server.Url);
        Eventually.True(() => daemon.Stats().Value("sink_events_written_total", ("sink", "bus")) >= Total,
            () => $"the sink wrote {daemon.Stats().Value("sink_events_written_total", ("sink", "bus"))} of {Total} after the restart: {daemon.Stats().Describe("sink_errors_total")}");
        List<byte[]> bodies = reader.ReadAllAsync("EVENTS").GetAwaiter().GetResult();
        var ids = bodies.Select(b =>
        {
            using JsonDocument json = JsonDocument.Parse(b);
            return (json.RootElement.GetProperty("conn").GetString()!, json.RootElement.GetProperty("seq").GetInt32());
        }).ToList();
        Assert.True(ids.Distinct().Count() == Total, $"{ids.Distinct().Count()} distinct events in the stream after a server restart, {Total} sent");
        Assert.True(ids.Count == Total, $"the stream holds {ids.Count} messages for {Total} events: replays were not deduplicated");
    }

    [Fact]
    public void PartitionedSubject_PutsEveryEventOnThePartitionOfItsField()
    {
        using NatsServer server = NatsServer.Start();
        using (var probe = new JetStreamProbe(server.Url))
        {
            probe.CreateStreamAsync("EVENTS", "events.>").GetAwaiter().GetResult();
        }

        using DaemonProcess daemon = DaemonProcess.Start(output, l => $$"""
            [sources.tcp_in]
            type = "tcp"
            address = "{{l.Address("tcp")}}"

            [sinks.bus]
            type = "nats"
            inputs = ["tcp_in"]
            url = "{{server.Url}}"
            subject = "events.p{partition}"
            partition_by = "conn"
            partitions = 3
            """);
        const int Each = 200;
        SendEvents(daemon, 0, Each);
        using var reader = new JetStreamProbe(server.Url);
        Eventually.True(() => reader.CountAsync("EVENTS").GetAwaiter().GetResult() >= Connections * Each,
            () => $"the stream holds {reader.CountAsync("EVENTS").GetAwaiter().GetResult()} of {Connections * Each} events: {daemon.Stats().Describe("sink_errors_total")}");

        var subjectOfConn = new Dictionary<string, string>();
        foreach ((string subject, byte[] body) in reader.ReadAllWithSubjectsAsync("EVENTS").GetAwaiter().GetResult())
        {
            string expected = $"events.p{EventDaemon.Daemon.Sinks.Transports.NatsTransport.PartitionOf(body, "conn"u8, 3)}";
            Assert.True(subject == expected, $"an event went to {subject}, its partition is {expected}: {Encoding.UTF8.GetString(body)}");
            using JsonDocument json = JsonDocument.Parse(body);
            string conn = json.RootElement.GetProperty("conn").GetString()!;
            Assert.True(subjectOfConn.TryAdd(conn, subject) || subjectOfConn[conn] == subject, $"events of {conn} went to {subjectOfConn[conn]} and {subject}");
        }
    }

    private DaemonProcess StartDaemon(NatsServer server) => DaemonProcess.Start(output, l => $"""
        [sources.tcp_in]
        type = "tcp"
        address = "{l.Address("tcp")}"
        format = "json"

        [sinks.bus]
        type = "nats"
        inputs = ["tcp_in"]
        url = "{server.Url}"
        subject = "events.in"
        """, new DaemonOptions { RingSize = 4096, ArenaSize = "4MiB" });

    private static void SendEvents(DaemonProcess daemon, int from, int to)
    {
        var senders = new List<Thread>();
        for (int c = 0; c < Connections; c++)
        {
            string conn = $"c{c}";
            senders.Add(new Thread(() =>
            {
                var text = new StringBuilder();
                for (int seq = from; seq < to; seq++)
                {
                    text.Append($$"""{"type":"click","conn":"{{conn}}","seq":{{seq}}}""").Append('\n');
                }

                using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("tcp"));
                TestSockets.SendAll(socket, Encoding.UTF8.GetBytes(text.ToString()));
                socket.Shutdown(SocketShutdown.Send);
            }));
        }

        senders.ForEach(t => t.Start());
        senders.ForEach(t => t.Join());
    }
}
