using System.Net.Sockets;
using System.Text.RegularExpressions;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

[Collection(IntegrationCollection.Name)]
public sealed partial class ReloadTests(ITestOutputHelper output)
{
    private static Func<DaemonLayout, string> Topology(string condition) => l => $"""
        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "json"

        [transforms.picked]
        type = "filter"
        inputs = ["in"]
        condition = '{condition}'

        [sinks.out]
        type = "file"
        inputs = ["picked"]
        path = "{l.File("out.jsonl")}"
        """;

    [Fact]
    public void Reload_WithANewCondition_AppliesItToNewEvents_AndLosesNothingSentMeanwhile()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology("""type == "click" || type == "both" """));
        string outPath = daemon.Layout.File("out.jsonl");
        int port = daemon.Layout.Port("in");

        TestSockets.SendTcp(port, Line("click", "before", 0) + Line("view", "before", 1));
        Eventually.True(() => SinkFile.CountLines(outPath) == 1, () => $"before the reload: {daemon.Stats().Json}");

        // Events that pass the old condition and the new one stream in on one connection while
        // the config is swapped underneath: every one of them must come out.
        bool stop = false;
        int streamed = 0;
        using Socket stream = TestSockets.ConnectTcp(port);
        var streamer = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                TestSockets.SendAll(stream, Line("both", "during", streamed));
                Volatile.Write(ref streamed, streamed + 1);
                if (streamed % 20 == 0)
                {
                    Thread.Sleep(1);
                }
            }
        })
        { IsBackground = true, Name = "reload-streamer" };
        streamer.Start();
        Eventually.True(() => Volatile.Read(ref streamed) >= 200, () => "the streamer does not get going");

        daemon.WriteConfig(Topology("""type == "view" || type == "both" """));
        CliResult reload = daemon.Cli("ctl", "reload");
        Assert.True(reload.ExitCode == 0 && reload.Stdout.StartsWith("reloaded", StringComparison.Ordinal), reload.Describe());
        int atReply = Volatile.Read(ref streamed);
        Eventually.True(() => Volatile.Read(ref streamed) >= atReply + 200, () => "the streamer stalled after the reload");
        Volatile.Write(ref stop, true);
        streamer.Join();
        stream.Shutdown(SocketShutdown.Send);

        // Another connection's lines may overtake the stream's last ones: send "after" once those are out.
        Eventually.True(() => SinkFile.CountLines(outPath) >= 1 + streamed,
            () => $"{SinkFile.CountLines(outPath)} of {1 + streamed} lines; {daemon.Stats().Json}");
        TestSockets.SendTcp(port, Line("click", "after", 0) + Line("view", "after", 1));
        int expected = 1 + streamed + 1;
        Eventually.True(() => SinkFile.CountLines(outPath) >= expected,
            () => $"{SinkFile.CountLines(outPath)} of {expected} lines; {daemon.Stats().Json}");

        List<string> lines = SinkFile.TextLines(outPath);
        Assert.True(lines.Count == expected, $"{lines.Count} lines written, {expected} expected");
        Assert.True(lines[0] == Line("click", "before", 0).TrimEnd('\n'), $"before the reload the old condition applies: {lines[0]}");
        List<string> during = lines.Where(l => l.Contains("\"during\"", StringComparison.Ordinal)).ToList();
        for (int i = 0; i < streamed; i++)
        {
            Assert.True(i < during.Count && during[i] == Line("both", "during", i).TrimEnd('\n'),
                $"event {i} of the {streamed} streamed across the reload is missing or out of place (got {during.Count})");
        }

        Assert.True(lines[^1] == Line("view", "after", 1).TrimEnd('\n'), $"after the reload the new condition applies: {lines[^1]}");
        Assert.False(lines.Any(l => l.Contains("\"after\"", StringComparison.Ordinal) && l.Contains("click", StringComparison.Ordinal)),
            "a click sent after the reload passed the old condition");
    }

    [Fact]
    public void Reload_WithABrokenConfig_IsRefusedWithItsPosition_AndTheOldConfigKeepsRunning()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology("""type == "click" """));
        string outPath = daemon.Layout.File("out.jsonl");
        int port = daemon.Layout.Port("in");

        File.WriteAllText(daemon.ConfigPath, File.ReadAllText(daemon.ConfigPath).Replace("[sinks.out]", "[sinks.out", StringComparison.Ordinal));
        CliResult reload = daemon.Cli("ctl", "reload");
        Assert.True(reload.ExitCode != 0, reload.Describe());
        Assert.True(reload.Stderr.StartsWith("error:", StringComparison.Ordinal), reload.Describe());
        Assert.True(Position().IsMatch(reload.Stderr) && reload.Stderr.Contains(daemon.ConfigPath + ":", StringComparison.Ordinal),
            $"the refusal should name file:line:col:\n{reload.Describe()}");

        // A condition that does not compile is refused the same way.
        daemon.WriteConfig(Topology("""type == """));
        reload = daemon.Cli("ctl", "reload");
        Assert.True(reload.ExitCode != 0 && reload.Stderr.StartsWith("error:", StringComparison.Ordinal) && Position().IsMatch(reload.Stderr), reload.Describe());

        TestSockets.SendTcp(port, Line("click", "after-refusal", 0) + Line("view", "after-refusal", 1));
        Eventually.True(() => SinkFile.CountLines(outPath) == 1, () => $"events stopped flowing after a refused reload: {daemon.Stats().Json}");
        Assert.True(SinkFile.TextLines(outPath)[0] == Line("click", "after-refusal", 0).TrimEnd('\n'), "the old condition should still apply");
        string config = daemon.Control("config");
        Assert.True(config.Contains("type == \"click\"", StringComparison.Ordinal), $"ctl config should still show the old condition:\n{config}");
    }

    private static string Line(string type, string phase, int seq) => $$"""{"type":"{{type}}","phase":"{{phase}}","seq":{{seq}}}""" + "\n";

    [GeneratedRegex(@"eventd\.toml:\d+:\d+: ")]
    private static partial Regex Position();
}
