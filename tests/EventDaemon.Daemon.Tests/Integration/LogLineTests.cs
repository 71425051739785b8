using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// The daemon's log as the published binary writes it: priorities for journald when stderr is not
/// a terminal, a timestamp and level word when it is, JSON lines on request, and every reload
/// logged whoever asked for it.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class LogLineTests(ITestOutputHelper output)
{
    private static Func<DaemonLayout, string> Topology => l => $"""
        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"

        [sinks.out]
        type = "blackhole"
        inputs = ["in"]
        """;

    [Fact]
    public void Reload_FromSignalAndSocket_GoodOrRefused_IsLogged_EachLineWithItsPriority()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        string good = File.ReadAllText(daemon.ConfigPath);

        // Two mistakes: the refusal has a line per reason, each must reach journald as an error.
        File.WriteAllText(daemon.ConfigPath, good.Replace("type = \"blackhole\"", "type = \"blackhole\"\nbogus = 1\nwait = 2", StringComparison.Ordinal));
        CliResult refused = daemon.Cli("ctl", "reload");
        Assert.True(refused.ExitCode != 0, $"a broken config should be refused:\n{refused.Describe()}");
        daemon.Signal(PosixSignal.SigHup);
        Eventually.True(() => Lines(daemon, "SIGHUP: ").Count >= 3 && Lines(daemon, "control socket: ").Count >= 3,
            () => $"both refusals and their reasons should be logged:\n{daemon.Stderr}");

        foreach (string trigger in new[] { "SIGHUP: ", "control socket: " })
        {
            List<string> lines = Lines(daemon, trigger);
            Assert.True(lines[0] == $"<3>eventd: error: {trigger}reload refused; the running config stays:", $"first line of the {trigger}refusal:\n{daemon.Stderr}");
            Assert.True(lines.Skip(1).All(l => l.StartsWith($"<3>eventd: error: {trigger}{daemon.ConfigPath}:", StringComparison.Ordinal)),
                $"every reason of the {trigger}refusal should be its own error line with its position:\n{daemon.Stderr}");
        }

        Assert.False(daemon.Stderr.Contains("error: error:", StringComparison.Ordinal), $"'error:' said twice:\n{daemon.Stderr}");

        File.WriteAllText(daemon.ConfigPath, good);
        CliResult reloaded = daemon.Cli("ctl", "reload");
        Assert.True(reloaded.ExitCode == 0, reloaded.Describe());
        daemon.Signal(PosixSignal.SigHup);
        Eventually.True(
            () => daemon.Stderr.Contains("<6>eventd: SIGHUP: reloaded: ", StringComparison.Ordinal)
                && daemon.Stderr.Contains("<6>eventd: control socket: reloaded: ", StringComparison.Ordinal),
            () => $"both good reloads should be logged at info:\n{daemon.Stderr}");

        string[] all = daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(all.All(l => Priority().IsMatch(l)), $"stderr is not a terminal here: every line should carry <N>:\n{daemon.Stderr}");
    }

    [Fact]
    public void LogFormatJson_WritesOneObjectPerLine_WithTimeLevelMessageAndFields()
    {
        var options = new DaemonOptions
        {
            DaemonSettings = "log_format = \"json\"",
            Environment = { ["JOURNAL_STREAM"] = "" }, // a pipe, not the journal: pure JSON
        };
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology, options);
        File.WriteAllText(daemon.ConfigPath, File.ReadAllText(daemon.ConfigPath) + "\n[sinks.more\n");
        daemon.Signal(PosixSignal.SigHup);
        Eventually.True(() => daemon.Stderr.Contains("\"trigger\":\"SIGHUP\"", StringComparison.Ordinal), () => $"the refused reload is not logged:\n{daemon.Stderr}");

        string[] lines = daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var refusal = new List<JsonElement>();
        foreach (string line in lines)
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement root = doc.RootElement.Clone();
            Assert.True(root.TryGetProperty("ts", out _) && root.TryGetProperty("level", out _) && root.TryGetProperty("msg", out _) && root.TryGetProperty("fields", out _),
                $"every line should have ts, level, msg and fields: {line}");
            if (root.GetProperty("fields").TryGetProperty("trigger", out _))
            {
                refusal.Add(root);
            }
        }

        Assert.True(refusal.Count >= 2, $"the refusal and its reason:\n{daemon.Stderr}");
        Assert.True(refusal.All(r => r.GetProperty("level").GetString() == "error" && r.GetProperty("fields").GetProperty("reload").GetString() == "refused"),
            $"each line of a refusal is an error with reload=refused:\n{daemon.Stderr}");
        Assert.True(refusal[1].GetProperty("msg").GetString()!.Contains("missing ']'", StringComparison.Ordinal), $"the reason, in eventd's words:\n{daemon.Stderr}");
    }

    [Fact]
    public void OnATerminal_LinesStartWithTimeAndLevel_InAPipe_WithThePriority()
    {
        // A config whose source cannot bind: run logs one error and exits 1, on a terminal or not.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        string dir = Directory.CreateTempSubdirectory("edt-log-").FullName;
        try
        {
            string config = Path.Combine(dir, "eventd.toml");
            File.WriteAllText(config, $"""
                [daemon]
                control_socket = "{Path.Combine(dir, "ctl.sock")}"
                ring_size = 1024
                arena_size = "1MiB"

                [sources.in]
                type = "tcp"
                address = "127.0.0.1:{port}"

                [sinks.out]
                type = "blackhole"
                inputs = ["in"]
                """);

            CliResult piped = EventdBinary.Run("run", "--config", config);
            Assert.True(piped.ExitCode == 1, piped.Describe());
            Assert.True(piped.StderrLines.Length > 0 && piped.StderrLines.All(l => Priority().IsMatch(l)), $"in a pipe every line carries <N>:\n{piped.Describe()}");
            Assert.True(piped.StderrLines.Any(l => l.StartsWith("<3>eventd: error: ", StringComparison.Ordinal)), $"the bind failure is an error:\n{piped.Describe()}");

            // script(1) gives the daemon a terminal for stdout and stderr alike.
            string command = $"'{EventdBinary.Path}' run --config '{config}'";
            var start = new ProcessStartInfo("script", ["-qec", command, "/dev/null"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            using Process process = Process.Start(start)!;
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Assert.True(process.WaitForExit(60_000), "eventd under script(1) did not exit");
            // .NET's console sets the terminal's keypad mode when it starts on a tty: not part of a log line.
            string[] lines = TerminalControl().Replace(stdout.Result, "").Split(["\r\n", "\n"], StringSplitOptions.RemoveEmptyEntries);
            Assert.True(process.ExitCode == 1, $"exit {process.ExitCode}:\n{stdout.Result}");
            Assert.True(lines.Length > 0 && lines.All(l => Stamped().IsMatch(l)), $"on a terminal every line starts with an RFC 3339 time and a level word:\n{stdout.Result}");
            Assert.True(lines.Any(l => Stamped().Match(l).Groups[1].Value == "error"), $"the bind failure is an error:\n{stdout.Result}");
            Assert.False(stdout.Result.Contains("<3>", StringComparison.Ordinal), $"no syslog prefix on a terminal:\n{stdout.Result}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static List<string> Lines(DaemonProcess daemon, string trigger) =>
        [.. daemon.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains($": {trigger}", StringComparison.Ordinal) || l.Contains($"eventd: {trigger}", StringComparison.Ordinal))];

    [GeneratedRegex(@"\x1b(\[[0-9;?]*[A-Za-z]|[=>])")]
    private static partial Regex TerminalControl();

    [GeneratedRegex(@"^<[0-7]>eventd: ")]
    private static partial Regex Priority();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warning|info|debug) +\S")]
    private static partial Regex Stamped();
}
