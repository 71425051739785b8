using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>A reload while a sink cannot deliver and the ring is full answers, never hangs, and
/// counts what the dead sink gave up.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class StuckSinkReloadTests(ITestOutputHelper output)
{
    [Fact]
    public void Reload_WhileTheRingIsFullBehindADeadSink_AnswersAndCountsWhatTheDeadSinkGaveUp_AndTheDaemonStillAnswers()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "tcp"
            inputs = ["in"]
            address = "{l.Address("nobody")}"
            max_backoff = "200ms"
            """, new DaemonOptions { RingSize = 1024, ArenaSize = "1MiB", DaemonSettings = "drain_timeout = \"2s\"" });

        // Fill the ring: the sink's destination refuses connections, so nothing leaves.
        using Socket socket = TestSockets.ConnectTcp(daemon.Layout.Port("in"));
        socket.Blocking = false;
        byte[] line = Encoding.UTF8.GetBytes("{\"type\":\"tick\",\"pad\":\"" + new string('p', 100) + "\"}\n");
        Eventually.True(() =>
        {
            try
            {
                for (int i = 0; i < 1000; i++)
                {
                    socket.Send(line);
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
            }

            return daemon.Stats().Value("ring_occupancy") >= 1024;
        }, () => $"the ring never filled: {daemon.Stats().Describe("ring_occupancy")}");

        // Stream sources pause on a full ring instead of holding the producer turn, so the reload
        // can hold the producers: the old graph's dead sink gives up its batch (counted), and the
        // new graph takes over where the old one stopped.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        CliResult reload = daemon.Cli("ctl", "reload");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"reload behind a full ring took {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(reload.ExitCode == 0, $"reload behind a full ring was refused although its producers can be paused: {reload.Describe()}");
        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("events_dropped_total", ("stage", "out"), ("reason", "sink_abandoned")) > 0,
            $"the dead sink's batch was given up uncounted: {stats.Describe("events_dropped_total")}");

        Eventually.True(() => daemon.Cli("ctl", "health").Stdout.Contains("sink out failing", StringComparison.Ordinal),
            () => $"health does not name the failing sink after the reload: {daemon.Cli("ctl", "health").Describe()}");
    }
}
