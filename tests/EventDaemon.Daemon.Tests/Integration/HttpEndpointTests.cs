using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using EventDaemon.Daemon.Tests.Control;
using EventDaemon.Daemon.Tests.Http;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary><c>[daemon] http</c> on the published binary: curl, promtool and hostile clients, as an operator's tools see it.</summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class HttpEndpointTests(ITestOutputHelper output)
{
    /// <summary>Port 0: the kernel picks a free one, and the start line says which.</summary>
    private static readonly DaemonOptions WithHttp = new() { DaemonSettings = "http = \"127.0.0.1:0\"" };

    [GeneratedRegex(@"http on 127\.0\.0\.1:(\d+)")]
    private static partial Regex HttpLine();

    private static IPEndPoint HttpEndPoint(DaemonProcess daemon)
    {
        Match match = Eventually.Value(() => HttpLine().Match(daemon.Stderr), m => m.Success, _ => $"no 'http on' in the start line:\n{daemon.Stderr}");
        return new IPEndPoint(IPAddress.Loopback, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void HealthReadyMetrics_AnswerCurl_AndMetricsPassPromtool()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [transforms.clicks]
            type = "filter"
            inputs = ["in"]
            condition = 'type == "click"'

            [sinks.out]
            type = "file"
            inputs = ["clicks"]
            path = "{l.File("out.jsonl")}"
            """, WithHttp);
        TestSockets.SendTcp(daemon.Layout.Port("in"), "{\"type\":\"click\",\"value\":1}\n");
        Eventually.True(() => SinkFile.CountLines(daemon.Layout.File("out.jsonl")) == 1, () => daemon.Stats().Json);
        string url = $"http://{HttpEndPoint(daemon)}";

        (int exit, string health) = RawHttp.Curl(url + "/health");
        Assert.True(exit == 0 && health.StartsWith("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal) && health.EndsWith("\r\n\r\nok\n", StringComparison.Ordinal), $"curl /health exit {exit}:\n{health}");

        (exit, string ready) = RawHttp.Curl(url + "/ready");
        Assert.True(exit == 0 && ready.StartsWith("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal), $"curl /ready exit {exit}:\n{ready}");

        (exit, string metrics) = RawHttp.Curl(url + "/metrics");
        Assert.True(exit == 0 && metrics.StartsWith("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal), $"curl /metrics exit {exit}:\n{metrics}");
        Assert.True(metrics.Contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n", StringComparison.Ordinal), $"content type:\n{metrics}");
        string exposition = RawHttp.Body(metrics);
        Assert.True(exposition.Contains("eventd_events_received_total{source=\"in\"} 1\n", StringComparison.Ordinal), $"the received count:\n{exposition}");
        Assert.True(exposition.Contains("eventd_stage_latency_seconds_count{stage=\"out\"} 1\n", StringComparison.Ordinal), $"the sink's histogram:\n{exposition}");
        Assert.True(exposition.Contains("eventd_build_info{version=", StringComparison.Ordinal), $"build info:\n{exposition}");

        (int promExit, string promOut, string promErr) = Tool.Run("promtool", exposition, "check", "metrics");
        Assert.True(promExit == 0 && promOut.Length == 0 && promErr.Length == 0, $"promtool check metrics exited {promExit}:\n{promOut}{promErr}");

        CliResult viaCtl = daemon.Cli("ctl", "metrics");
        (promExit, promOut, promErr) = Tool.Run("promtool", viaCtl.Stdout, "check", "metrics");
        Assert.True(viaCtl.ExitCode == 0 && promExit == 0 && promOut.Length == 0 && promErr.Length == 0, $"promtool on ctl metrics exited {promExit}:\n{promOut}{promErr}");

        (exit, string missing) = RawHttp.Curl(url + "/nope");
        Assert.True(exit == 0 && missing.StartsWith("HTTP/1.1 404 ", StringComparison.Ordinal), $"curl /nope:\n{missing}");
        (exit, string posted) = RawHttp.Curl(url + "/health", "-X", "POST", "-d", "x");
        Assert.True(exit == 0 && posted.StartsWith("HTTP/1.1 405 ", StringComparison.Ordinal), $"curl -X POST /health:\n{posted}");
    }

    [Fact]
    public void FailingSink_Gives503OnHealth_AndCtlHealthExits1()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "tcp"
            inputs = ["in"]
            address = "{l.Address("closed")}"
            """, WithHttp);
        IPEndPoint http = HttpEndPoint(daemon);

        CliResult healthy = daemon.Cli("ctl", "health");
        Assert.True(healthy.ExitCode == 0 && healthy.Stdout == "ok\n", $"before any event: {healthy.Describe()}");

        TestSockets.SendTcp(daemon.Layout.Port("in"), "{\"type\":\"click\"}\n");
        string reply = Eventually.Value(
            () => RawHttp.Exchange(http, "GET /health HTTP/1.1\r\n\r\n"),
            r => RawHttp.Status(r) == 503,
            r => $"/health never reported the failing sink:\n{r}");
        Assert.True(RawHttp.Body(reply).StartsWith("sink out failing: ", StringComparison.Ordinal), $"the problem line:\n{reply}");

        CliResult unhealthy = daemon.Cli("ctl", "health");
        Assert.True(unhealthy.ExitCode == 1, $"ctl health must exit 1 on a problem: {unhealthy.Describe()}");
        Assert.True(unhealthy.Stdout.StartsWith("sink out failing: ", StringComparison.Ordinal), $"the problem on stdout: {unhealthy.Describe()}");
    }

    [Fact]
    public void HostileClients_DoNotStopHealthAnswering()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, l => $"""
            [sources.in]
            type = "tcp"
            address = "{l.Address("in")}"
            format = "json"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """, WithHttp);
        IPEndPoint http = HttpEndPoint(daemon);
        var hostile = new List<Socket>();
        try
        {
            // 100 connections: a third trickle an unfinished head (slowloris), a third send a head
            // past the size cap and keep the connection, a third say nothing.
            for (int i = 0; i < 100; i++)
            {
                Socket socket = RawHttp.Connect(http);
                hostile.Add(socket);
                if (i % 3 == 0)
                {
                    socket.Send("GET /health HTTP/1.1\r\nX-Slow: "u8.ToArray());
                }
                else if (i % 3 == 1)
                {
                    socket.Send(System.Text.Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nX-Big: " + new string('a', 16 * 1024)));
                }
            }

            (int exit, string health) = RawHttp.Curl($"http://{http}/health");
            Assert.True(exit == 0 && health.StartsWith("HTTP/1.1 200 OK\r\n", StringComparison.Ordinal), $"/health past 100 hostile connections, curl exit {exit}:\n{health}");
        }
        finally
        {
            foreach (Socket socket in hostile)
            {
                socket.Dispose();
            }
        }

        Assert.True(!daemon.HasExited, $"the daemon died:\n{daemon.Stderr}");
    }

    [Fact]
    public void HttpAddressInUse_FailsTheStart_InOneLine()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        using var dir = new TempDirectory();
        string config = Path.Combine(dir.Path, "eventd.toml");
        File.WriteAllText(config, $"""
            [daemon]
            http = "127.0.0.1:{port}"
            control_socket = "{Path.Combine(dir.Path, "ctl.sock")}"

            [sources.in]
            type = "udp"
            address = "127.0.0.1:0"
            format = "json"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """);

        CliResult validate = EventdBinary.Run("validate", "--config", config);
        Assert.True(validate.ExitCode == 0, $"a port in use is for run to find, as with sources: {validate.Describe()}");
        CliResult run = EventdBinary.Run("run", "--config", config);
        Assert.True(run.ExitCode == 1, $"run must fail: {run.Describe()}");
        Assert.True(run.Stderr.Contains($"cannot listen for http on 127.0.0.1:{port} (the address is in use)", StringComparison.Ordinal)
            && !run.Stderr.Contains(" at ", StringComparison.Ordinal), $"one line, no stack trace: {run.Describe()}");
    }

    [Fact]
    public void HttpAddressOfAnotherMachine_IsRefusedByValidate()
    {
        using var dir = new TempDirectory();
        string config = Path.Combine(dir.Path, "eventd.toml");
        File.WriteAllText(config, """
            [daemon]
            http = "192.0.2.1:9598"

            [sources.in]
            type = "udp"
            address = "127.0.0.1:0"
            format = "json"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """);
        CliResult validate = EventdBinary.Run("validate", "--config", config);
        Assert.True(validate.ExitCode != 0 && validate.Stderr.Contains("http: no local interface has the address 192.0.2.1", StringComparison.Ordinal),
            $"validate must refuse what run could not bind: {validate.Describe()}");
    }
}
