using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using EventDaemon.Daemon.Control.Internal;
using EventDaemon.Daemon.Tests.Control;
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
        AssertPrints(metrics, "# TYPE eventd_events_received_total counter\n", "a # TYPE line per family");
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

        // The client knows the server's list: a command not on it is a usage error before any round trip.
        CliResult bogus = daemon.Cli("ctl", "bogus");
        Assert.True(bogus.ExitCode == 2, bogus.Describe());
        Assert.True(bogus.Stderr == "eventd: ctl: unknown control command 'bogus' (see 'eventd ctl help')\n", bogus.Describe());

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

    [Fact]
    public void SilentControlClients_RenewedAllAlong_DoNotDelayStats_AndAreClosedAfterTheReadDeadline()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        TestSockets.SendTcp(daemon.Layout.Port("in"), "{\"type\":\"click\",\"value\":1}\n");
        Eventually.True(() => SinkFile.CountLines(daemon.Layout.File("out.jsonl")) == 1, () => daemon.Stats().Json);

        // For the log: what one call costs here with nobody else on the socket.
        var alone = Stopwatch.StartNew();
        Assert.True(daemon.Cli("stats").ExitCode == 0, "stats with no other client");
        output.WriteLine($"eventd stats alone: {alone.Elapsed.TotalMilliseconds:0} ms");

        const int Silent = 25;
        var silent = new List<Socket>();
        try
        {
            TimeSpan slowest = TimeSpan.Zero;
            for (int round = 0; round < 6; round++)
            {
                // Renewed each round, as a client jamming the socket would: fresh ones never time out first.
                silent.ForEach(s => s.Dispose());
                silent.Clear();
                for (int i = 0; i < Silent; i++)
                {
                    silent.Add(RawClient.Connect(daemon.ControlSocket));
                }

                var clock = Stopwatch.StartNew();
                CliResult stats = daemon.Cli("stats");
                clock.Stop();
                slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
                output.WriteLine($"round {round}: eventd stats beside {Silent} silent clients: {clock.Elapsed.TotalMilliseconds:0} ms");
                Assert.True(stats.ExitCode == 0, $"round {round}, beside {Silent} silent clients: {stats.Describe()}");
                AssertPrints(stats, "events_received_total{source=\"in\"} 1\n", "the source's received count");

                // Loose on purpose (a loaded 2-core machine): the old server took 45 s here.
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"round {round}: eventd stats took {clock.Elapsed.TotalSeconds:0.00} s beside {Silent} silent clients");
            }

            output.WriteLine($"slowest eventd stats beside {Silent} silent control clients: {slowest.TotalMilliseconds:0} ms");

            // The last batch is closed by the server after the read deadline (ReadToEnd waits for it, bounded).
            foreach (Socket socket in silent)
            {
                string reply = RawClient.ReadToEnd(socket);
                Assert.True(reply == "error: no command received within 1 s (try help)\n", $"a silent client got '{reply}' instead of the timeout error and a close");
            }
        }
        finally
        {
            silent.ForEach(s => s.Dispose());
        }
    }

    [Theory]
    [InlineData("world-writable")]
    [InlineData("owned-by-another-user")]
    public void TheDaemon_RefusesASocketDirectoryAnotherUserCouldChange_WithOneLineAndExit1(string kind)
    {
        using var scratch = new TempDirectory();
        File.SetUnixFileMode(scratch.Path, (UnixFileMode)0x1ED); // 0755
        string directory = Path.Combine(scratch.Path, "ctl");
        Directory.CreateDirectory(directory);
        string expected;
        if (kind == "world-writable")
        {
            File.SetUnixFileMode(directory, (UnixFileMode)0x1FF); // 0777
            expected = $"control socket directory {directory} is writable by other users (mode 0777)";
        }
        else
        {
            File.SetUnixFileMode(directory, (UnixFileMode)0x1ED);
            OtherUser.Own(directory);
            expected = $"control socket directory {directory} is owned by uid {OtherUser.Uid}, not by the daemon's user (uid 0)";
        }

        string config = WriteConfig(scratch.Path, $"control_socket = \"{directory}/eventd.sock\"");
        CliResult run = EventdBinary.Run(["run", "--config", config], asNobody: false, RawClient.Deadline);

        Assert.True(run.ExitCode == 1, $"a daemon with its socket in a {kind} directory should exit 1:\n{run.Describe()}");
        Assert.True(run.StderrLines.Count(l => l.Contains(expected, StringComparison.Ordinal)) == 1, $"expected one line saying '{expected}':\n{run.Describe()}");
        Assert.True(run.StderrLines.Length == 1, $"the refusal should be the only line:\n{run.Describe()}");
        run.AssertNoStackTrace();
        Assert.True(!File.Exists(Path.Combine(directory, "eventd.sock")), "a socket was created in the refused directory");
    }

    [Fact]
    public void TheClient_RefusesASocketServedByAnotherUser_AndPrintsNoneOfItsReply()
    {
        // Another user made root's /tmp/eventd-0 first (mode 0777) and listens there.
        using var scratch = new TempDirectory();
        File.SetUnixFileMode(scratch.Path, (UnixFileMode)0x1ED);
        string directory = Path.Combine(scratch.Path, "eventd-0");
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
        OtherUser.Own(directory);
        using ImpostorListener impostor = ImpostorListener.Start(Path.Combine(directory, "eventd.sock"));

        foreach (string[] args in new[] { new[] { "stats", "--socket", impostor.Path }, ["ctl", "drain", "--socket", impostor.Path] })
        {
            CliResult result = EventdBinary.Run(args);
            Assert.True(result.ExitCode == 2, $"a client talking to another user's socket should exit 2:\n{result.Describe()}");
            string expected = $"error: refusing the reply: the socket {impostor.Path} is served by uid {OtherUser.Uid}, not root or uid 0";
            Assert.True(result.StderrLines.Length == 1 && result.StderrLines[0] == expected, $"expected the one line '{expected}':\n{result.Describe()}");
            Assert.True(!result.Stdout.Contains("424242", StringComparison.Ordinal), $"the impostor's counter was printed:\n{result.Describe()}");
            result.AssertNoStackTrace();
        }
    }

    [Fact]
    public void ThePerUserDirectoryInTmp_IsMadePrivateByTheDaemon_AndRefusedWhenAnotherUserMadeItFirst()
    {
        // The daemon runs as the test user (root's own /tmp/eventd-0 may be in use by other daemons
        // on this machine), with no runtime directory, so it defaults to /tmp/eventd-UID.
        uint uid = OtherUser.Uid;
        string perUser = $"/tmp/eventd-{uid.ToString(CultureInfo.InvariantCulture)}";
        string socket = Path.Combine(perUser, "eventd.sock");
        using var scratch = new TempDirectory();
        File.SetUnixFileMode(scratch.Path, (UnixFileMode)0x1ED);
        string config = WriteConfig(scratch.Path, "");
        RemoveDirectory(perUser);
        try
        {
            // Made first by nobody, open to all.
            Directory.CreateDirectory(perUser);
            File.SetUnixFileMode(perUser, (UnixFileMode)0x1FF);
            Tool.Run("chown", "", "65534:65534", perUser);
            CliResult refused = AsOtherUser(["run", "--config", config]);
            Assert.True(refused.ExitCode == 1, $"the daemon should refuse a {perUser} made by uid 65534:\n{refused.Describe()}");
            string expected = $"control socket directory {perUser} is owned by uid 65534, not by the daemon's user (uid {uid})";
            Assert.True(refused.StderrLines.Length == 1 && refused.Stderr.Contains(expected, StringComparison.Ordinal), $"expected one line saying '{expected}':\n{refused.Describe()}");
            refused.AssertNoStackTrace();
            RemoveDirectory(perUser);

            // Missing: the daemon makes it, 0700, its own.
            using Process daemon = StartAsOtherUser(["run", "--config", config]);
            try
            {
                Eventually.True(() => File.Exists(socket) || daemon.HasExited, () => $"the daemon never created {socket}");
                Assert.False(daemon.HasExited, $"the daemon exited {(daemon.HasExited ? daemon.ExitCode : 0)} instead of serving");
                PathStatus made = SocketFile.Lstat(perUser);
                Assert.True(made.Kind == PathKind.Directory && made.Owner == uid && made.OctalPermissions == "0700",
                    $"{perUser} was made as {made.Kind}, uid {made.Owner}, mode {made.OctalPermissions}; expected a directory of uid {uid}, mode 0700");

                CliResult stats = AsOtherUser(["stats"]);
                Assert.True(stats.ExitCode == 0 && stats.Stdout.Contains("events_received_total{source=\"in\"} 0\n", StringComparison.Ordinal),
                    $"the daemon's own user, with defaults, should reach it:\n{stats.Describe()}");

                // Root's client does not take that uid's word for it: anyone could have made a directory in /tmp.
                CliResult rootStats = EventdBinary.Run(["stats", "--socket", socket]);
                Assert.True(rootStats.ExitCode == 2 && rootStats.Stderr.StartsWith($"error: refusing the reply: the socket {socket} is served by uid {uid}", StringComparison.Ordinal),
                    $"root's client should refuse a daemon of uid {uid} in /tmp:\n{rootStats.Describe()}");

                CliResult drain = AsOtherUser(["ctl", "drain"]);
                Assert.True(drain.ExitCode == 0, drain.Describe());
                Assert.True(daemon.WaitForExit(RawClient.Deadline) && daemon.ExitCode == 0, "the daemon did not exit 0 after drain");
            }
            finally
            {
                if (!daemon.HasExited)
                {
                    daemon.Kill();
                    daemon.WaitForExit(RawClient.Deadline);
                }

                output.WriteLine(daemon.StandardError.ReadToEnd());
            }
        }
        finally
        {
            RemoveDirectory(perUser);
        }
    }

    /// <summary>A config with a tcp source that is never sent to and a blackhole sink, plus <paramref name="daemonLines"/>.</summary>
    private static string WriteConfig(string directory, string daemonLines)
    {
        string path = Path.Combine(directory, "eventd.toml");
        File.WriteAllText(path, $"""
            [daemon]
            {daemonLines}
            ring_size = 1024
            arena_size = "1MiB"

            [sources.in]
            type = "tcp"
            address = "127.0.0.1:{TestPorts.Next()}"
            format = "json"

            [sinks.out]
            type = "blackhole"
            inputs = ["in"]
            """);
        File.SetUnixFileMode(path, (UnixFileMode)0x1A4); // 0644, readable by the other user
        return path;
    }

    private static ProcessStartInfo OtherUserStart(string[] args)
    {
        var start = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (string argument in OtherUser.SetPriv.Append(EventdBinary.Path).Concat(args))
        {
            start.ArgumentList.Add(argument);
        }

        // No runtime directory and no notify socket: the defaults of a user outside systemd.
        foreach (string inherited in new[] { "XDG_RUNTIME_DIR", "RUNTIME_DIRECTORY", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID" })
        {
            start.Environment.Remove(inherited);
        }

        return start;
    }

    private static Process StartAsOtherUser(string[] args) =>
        Process.Start(OtherUserStart(args)) ?? throw new InvalidOperationException("could not start eventd as the other user");

    private static CliResult AsOtherUser(string[] args)
    {
        using Process process = StartAsOtherUser(args);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        bool finished = process.WaitForExit(RawClient.Deadline);
        if (!finished)
        {
            process.Kill();
        }

        process.WaitForExit();
        return new CliResult($"(as {OtherUser.Name}) {string.Join(' ', args)}", finished ? process.ExitCode : -1, stdout.Result, stderr.Result);
    }

    private static void RemoveDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
    }

    private static void AssertPrints(CliResult result, string text, string what) =>
        Assert.True(result.Stdout.Contains(text, StringComparison.Ordinal), $"'{result.CommandLine}' should print {what} ({text.TrimEnd('\n')}):\n{result.Describe()}");
}
