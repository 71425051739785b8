using System.Net.Sockets;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// Idle hand-off (on by default): events that arrive while the chain's thread is parked are run by
/// the stream source thread that read them. Every event still arrives once and in order, and stats
/// count the batches handed off; with <c>idle_handoff = false</c> none is.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class IdleHandoffTests(ITestOutputHelper output)
{
    private const int Bursts = 40;
    private const int PerBurst = 5;

    private static string Config(DaemonLayout l) => Config(l, "tcp");

    private static string Config(DaemonLayout l, string sourceType) => $"""
        [sources.in]
        type = "{sourceType}"
        address = "{l.Address("in")}"
        format = "json"

        [transforms.some]
        type = "filter"
        inputs = ["in"]
        condition = 'value >= 0'

        [sinks.out]
        type = "file"
        inputs = ["some"]
        path = "{l.File("out.jsonl")}"
        """;

    [Fact]
    public void ByDefault_ASlowTrickle_IsRunOnTheSourceThread_EveryEventOnceInOrder()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Config);
        SendInBursts(daemon);

        string path = daemon.Layout.File("out.jsonl");
        Eventually.True(() => SinkFile.CountLines(path) == Bursts * PerBurst, () => daemon.Stats().Json);
        List<string> lines = SinkFile.TextLines(path);
        for (int i = 0; i < lines.Count; i++)
        {
            Assert.Contains($"\"value\":{i}", lines[i]);
        }

        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("events_processed_total", ("stage", "some")) == Bursts * PerBurst, stats.Json);
        foreach (string member in new[] { "some", "out" })
        {
            Assert.True(stats.Value("stage_handoff_batches_total", ("stage", member)) > 0,
                $"{member}: no batch ran on the source thread although the chain idled between bursts: {stats.Json}");
        }
    }

    /// <summary>A datagram source never runs a stage (the kernel would drop what arrives while it
    /// waited), so its events wake the stage's thread, which runs them.</summary>
    [Fact]
    public void ADatagramSource_WakesTheStageInstead()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => Config(l, "udp"));
        string path = daemon.Layout.File("out.jsonl");
        using Socket sender = TestSockets.UdpSender();
        for (int i = 0; i < 20; i++)
        {
            TestSockets.SendDatagram(sender, daemon.Layout.Port("in"), System.Text.Encoding.UTF8.GetBytes($"{{\"type\":\"tick\",\"value\":{i}}}\n"));
            int expected = i + 1;
            Eventually.True(() => SinkFile.CountLines(path) == expected, () => daemon.Stats().Json);
            Thread.Sleep(10);
        }

        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("stage_handoff_batches_total", ("stage", "out")) == 0, stats.Json);
    }

    /// <summary>A sink that cannot deliver does not retry on the source's thread: it hands the stage
    /// back to its own thread, so the source goes on reading into the ring (which fills behind the
    /// sink, as without hand-off). SIGTERM still gives up after drain_timeout and exits.</summary>
    [Fact]
    public void ASinkThatCannotDeliver_HandsBack_SoTheSourceKeepsReading_AndSigtermStillExits()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "tcp"
            inputs = ["in"]
            address = "{l.Address("down")}"
            """, new DaemonOptions { DaemonSettings = "drain_timeout = \"1s\"" });

        // Nothing listens at the sink's address: the first event is run by the source's thread,
        // which cannot deliver it and hands it back; the sink's thread retries it.
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        Thread.Sleep(20);
        TestSockets.SendAll(socket, "{\"type\":\"tick\",\"value\":0}\n");
        Eventually.True(() => daemon.Stats().Value("sink_errors_total", ("sink", "out")) >= 2, () => daemon.Stats().Json);

        // A source thread held by the sink would read none of these.
        for (int i = 1; i <= 50; i++)
        {
            TestSockets.SendAll(socket, $"{{\"type\":\"tick\",\"value\":{i}}}\n");
            Thread.Sleep(2);
        }

        Eventually.True(() => daemon.Stats().Value("events_received_total", ("source", "in")) == 51, () => daemon.Stats().Json);
        StatsSnapshot stats = daemon.Stats();
        // The first event left the ring for the sink's buffer (it is the batch being retried).
        Assert.True(stats.Value("ring_occupancy") == 50, $"the events should wait in the ring behind the sink: {stats.Json}");

        daemon.Signal(PosixSignal.SigTerm);
        int exitCode = daemon.WaitForExit();
        // Nothing was delivered: all 51 (the sink's batch and the 50 behind it) are abandoned, exit 3.
        Assert.True(exitCode == 3, $"a drain that abandons events exits 3, got {exitCode}; stderr:\n{daemon.Stderr}");
        Assert.True(daemon.Stderr.Contains("drain timed out after 1s: 51 events abandoned", StringComparison.Ordinal), $"giving up on the sink should be logged with its count; stderr:\n{daemon.Stderr}");
    }

    [Fact]
    public void TurnedOff_NothingIsHandedOff()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Config, new DaemonOptions { DaemonSettings = "idle_handoff = false" });
        SendInBursts(daemon);

        Eventually.True(() => SinkFile.CountLines(daemon.Layout.File("out.jsonl")) == Bursts * PerBurst, () => daemon.Stats().Json);
        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("stage_handoff_batches_total", ("stage", "out")) == 0, stats.Json);
    }

    /// <summary>Bursts with pauses long enough for the chain's thread to stop spinning and park.</summary>
    private static void SendInBursts(DaemonProcess daemon)
    {
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        int value = 0;
        for (int burst = 0; burst < Bursts; burst++)
        {
            var lines = new System.Text.StringBuilder();
            for (int i = 0; i < PerBurst; i++)
            {
                lines.Append("{\"type\":\"tick\",\"value\":").Append(value++).Append("}\n");
            }

            TestSockets.SendAll(socket, lines.ToString());
            Thread.Sleep(10);
        }
    }
}
