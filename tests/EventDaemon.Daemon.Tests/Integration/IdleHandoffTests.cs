using System.Net.Sockets;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// <c>idle_handoff = true</c>: events that arrive while the chain's thread is parked are run by
/// the source thread that read them. Every event still arrives once and in order, and stats count
/// the batches handed off; with the default (off) none is.
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
    public void ASlowTrickle_IsRunOnTheSourceThread_EveryEventOnceInOrder()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Config, new DaemonOptions { DaemonSettings = "idle_handoff = true" });
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
        using DaemonProcess daemon = DaemonProcess.Start(output, l => Config(l, "udp"), new DaemonOptions { DaemonSettings = "idle_handoff = true" });
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

    /// <summary>The price of hand-off: a sink that cannot deliver holds the source thread that ran
    /// it, retrying. SIGTERM must still give up after drain_timeout, count what it gave up, and exit.</summary>
    [Fact]
    public void ASinkThatCannotDeliver_HoldsTheSourceThread_AndSigtermStillExits()
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
            """, new DaemonOptions { DaemonSettings = "idle_handoff = true\ndrain_timeout = \"1s\"" });

        // Nothing listens at the sink's address: the write fails and is retried, on the source's thread.
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        Thread.Sleep(20);
        TestSockets.SendAll(socket, "{\"type\":\"tick\",\"value\":1}\n");
        Eventually.True(() => daemon.Stats().Value("sink_errors_total", ("sink", "out")) >= 2, () => daemon.Stats().Json);

        daemon.Signal(PosixSignal.SigTerm);
        int exitCode = daemon.WaitForExit();
        Assert.True(exitCode == 0, $"exit code {exitCode}; stderr:\n{daemon.Stderr}");
        Assert.True(daemon.Stderr.Contains("drain timed out", StringComparison.Ordinal), $"giving up on the sink should be logged; stderr:\n{daemon.Stderr}");
    }

    [Fact]
    public void ByDefault_NothingIsHandedOff()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Config);
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
