using System.Net.Sockets;
using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>A reload while a sink cannot deliver and the ring is full answers (refused), never hangs.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class StuckSinkReloadTests(ITestOutputHelper output)
{
    [Fact]
    public void Reload_WhileTheRingIsFullBehindADeadSink_IsRefusedWithAReason_AndTheDaemonStillAnswers()
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

        CliResult reload = daemon.Cli("ctl", "reload");
        Assert.True(reload.ExitCode != 0, $"reload behind a full ring was not refused: {reload.Describe()}");
        Assert.True(reload.Stdout.Contains("error: reload refused", StringComparison.Ordinal)
            || reload.Stderr.Contains("error: reload refused", StringComparison.Ordinal),
            $"reload did not say why it was refused: {reload.Describe()}");

        CliResult health = daemon.Cli("ctl", "health");
        Assert.True(health.Stdout.Contains("sink out failing", StringComparison.Ordinal),
            $"health does not name the failing sink after the refused reload: {health.Describe()}");
    }
}
