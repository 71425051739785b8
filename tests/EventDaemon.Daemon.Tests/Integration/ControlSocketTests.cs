using System.Text.Json;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed class ControlSocketTests(ITestOutputHelper output)
{
    private static string Topology(DaemonLayout l) => $"""
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
        """;

    [Fact]
    public void EveryControlCommand_Answers_AndTheClientsExitCodesSayWhetherItWorked()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        TestSockets.SendTcp(daemon.Layout.Port("in"), "{\"type\":\"click\",\"value\":1}\nnot json\n");
        Eventually.True(() => SinkFile.CountLines(daemon.Layout.File("out.jsonl")) == 1, () => daemon.Stats().Json);

        CliResult stats = daemon.Cli("stats");
        Assert.True(stats.ExitCode == 0, stats.Describe());
        AssertPrints(stats, "events_received_total{source=\"in\"} 1\n", "the source's received count");
        AssertPrints(stats, "events_processed_total{stage=\"clicks\"} 1\n", "the filter's processed count");

        CliResult statsJson = daemon.Cli("stats", "--json");
        Assert.True(statsJson.ExitCode == 0, statsJson.Describe());
        var parsed = new StatsSnapshot(statsJson.Stdout);
        Assert.True(parsed.Value("events_received_total", ("source", "in")) == 1, parsed.Json);
        Assert.True(parsed.Value("ring_capacity") == 1024, parsed.Json);
        Assert.True(parsed.Value("events_invalid_total", ("source", "in"), ("reason", "not_json")) == 1, parsed.Json);

        CliResult viaCtl = daemon.Cli("ctl", "stats", "json");
        Assert.True(viaCtl.ExitCode == 0, viaCtl.Describe());
        using (JsonDocument.Parse(viaCtl.Stdout))
        {
            // `ctl stats json` is the same JSON object.
        }

        CliResult metrics = daemon.Cli("ctl", "metrics");
        Assert.True(metrics.ExitCode == 0, metrics.Describe());
        AssertPrints(metrics, "# TYPE events_received_total counter\n", "a # TYPE line per family");
        AssertPrints(metrics, "# HELP ", "# HELP lines");

        CliResult info = daemon.Cli("ctl", "info");
        Assert.True(info.ExitCode == 0, info.Describe());
        AssertPrints(info, $"pid {daemon.Pid}\n", "the daemon's pid");
        AssertPrints(info, daemon.ConfigPath, "the config path");
        AssertPrints(info, "ring 1024 slots", "the ring size");

        CliResult health = daemon.Cli("ctl", "health");
        Assert.True(health.ExitCode == 0 && health.Stdout == "ok\n", health.Describe());

        CliResult latency = daemon.Cli("ctl", "latency");
        Assert.True(latency.ExitCode == 0, latency.Describe());
        AssertPrints(latency, "p99.99", "the p99.99 column");
        Assert.True(latency.Stdout.Split('\n').Any(l => l.StartsWith("clicks ", StringComparison.Ordinal))
            && latency.Stdout.Split('\n').Any(l => l.StartsWith("out ", StringComparison.Ordinal)), $"latency should list the transform and the sink:\n{latency.Stdout}");

        CliResult errors = daemon.Cli("ctl", "errors");
        Assert.True(errors.ExitCode == 0, errors.Describe());
        AssertPrints(errors, "source=in reason=not_json", "the bad line sent");

        CliResult config = daemon.Cli("ctl", "config");
        Assert.True(config.ExitCode == 0, config.Describe());
        AssertPrints(config, "[transforms.clicks]", "the filter's table");
        AssertPrints(config, "type == \"click\"", "the filter's condition");

        CliResult help = daemon.Cli("ctl", "help");
        Assert.True(help.ExitCode == 0, help.Describe());
        foreach (string command in new[] { "stats", "stats json", "metrics", "info", "health", "latency", "errors", "config", "reload", "drain", "help" })
        {
            Assert.True(help.Stdout.Split('\n').Any(l => l.StartsWith(command + " ", StringComparison.Ordinal)), $"help does not list '{command}':\n{help.Stdout}");
        }

        CliResult bogus = daemon.Cli("ctl", "bogus");
        Assert.True(bogus.ExitCode != 0, bogus.Describe());
        Assert.True(bogus.Stderr == "error: unknown command 'bogus' (try help)\n", bogus.Describe());

        string raw = daemon.Control("bogus");
        Assert.True(raw.StartsWith("error: unknown command", StringComparison.Ordinal), $"over the socket: {raw}");
    }

    [Fact]
    public void AClient_WithNoDaemonAtTheSocket_ExitsNonZeroWithOneLineAndNoStackTrace()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"edt-none-{Environment.ProcessId}.sock");
        foreach (string[] args in new[] { new[] { "stats", "--socket", missing }, ["ctl", "health", "--socket", missing] })
        {
            CliResult result = EventdBinary.Run(args);
            Assert.True(result.ExitCode != 0, result.Describe());
            Assert.True(result.StderrLines.Length == 1 && result.Stderr.Contains(missing, StringComparison.Ordinal),
                $"expected one line naming the socket:\n{result.Describe()}");
            Assert.True(result.Stdout.Length == 0, result.Describe());
            result.AssertNoStackTrace();
        }
    }

    [Fact]
    public void ReloadAndDrain_FromAnotherUser_AreRefused_AndTheDaemonKeepsRunning()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        var mode = File.GetUnixFileMode(daemon.ControlSocket);
        Assert.True(mode == (UnixFileMode)0b110_110_000, $"the control socket's mode is {Convert.ToString((int)mode, 8)}, not 660");

        // As documented: mode 0660 keeps a user outside the daemon's user and group from connecting at all.
        foreach (string command in new[] { "reload", "drain", "health" })
        {
            CliResult result = EventdBinary.Run(["ctl", command, "--socket", daemon.ControlSocket], asNobody: true);
            Assert.True(result.ExitCode == 2, $"uid 65534 connecting to a 0660 root socket should be unreachable (exit 2):\n{result.Describe()}");
            Assert.True(result.StderrLines.Length == 1 && result.Stderr.Contains("permission denied", StringComparison.Ordinal), result.Describe());
            result.AssertNoStackTrace();
        }

        // An operator who opens the socket to everyone still keeps state changes to root and the daemon's user (SO_PEERCRED).
        File.SetUnixFileMode(daemon.ControlSocket, (UnixFileMode)0b110_110_110);
        CliResult read = EventdBinary.Run(["ctl", "health", "--socket", daemon.ControlSocket], asNobody: true);
        Assert.True(read.ExitCode == 0 && read.Stdout == "ok\n", $"a read-only command from another user, once it can connect:\n{read.Describe()}");
        foreach (string command in new[] { "reload", "drain" })
        {
            CliResult result = EventdBinary.Run(["ctl", command, "--socket", daemon.ControlSocket], asNobody: true);
            Assert.True(result.ExitCode == 1, result.Describe());
            Assert.True(result.Stderr.StartsWith($"error: permission denied: '{command}' needs root or uid ", StringComparison.Ordinal), result.Describe());
        }

        Assert.False(daemon.HasExited, $"a refused drain stopped the daemon; stderr:\n{daemon.Stderr}");
        Assert.True(daemon.Control("health") == "ok\n", "the daemon does not answer after refusing another user");
        Assert.False(daemon.Stderr.Contains("reloaded", StringComparison.Ordinal), $"a refused reload ran anyway; stderr:\n{daemon.Stderr}");
        Assert.True(daemon.Notify.Messages.Count(m => m.Has("RELOADING=1")) == 0, "a refused reload notified RELOADING=1");

        // The owner may.
        CliResult drain = daemon.Cli("ctl", "drain");
        Assert.True(drain.ExitCode == 0 && drain.Stdout.StartsWith("draining", StringComparison.Ordinal), drain.Describe());
        Assert.True(daemon.WaitForExit() == 0, $"drain should exit 0; stderr:\n{daemon.Stderr}");
    }

    private static void AssertPrints(CliResult result, string text, string what) =>
        Assert.True(result.Stdout.Contains(text, StringComparison.Ordinal), $"'{result.CommandLine}' should print {what} ({text.TrimEnd('\n')}):\n{result.Describe()}");
}
