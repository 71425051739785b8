using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// A linear chain (source → filter → sample → sink) runs on one consumer thread by default, with
/// every member's counters and lag still reported under its own name; <c>fuse_chains = false</c>
/// gives each stage a thread. A transform read by two stages is never fused.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class FusedChainTests(ITestOutputHelper output)
{
    private static string Linear(DaemonLayout l) => $"""
        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "json"

        [transforms.clicks]
        type = "filter"
        inputs = ["in"]
        condition = 'type == "click"'

        [transforms.half]
        type = "sample"
        inputs = ["clicks"]
        rate = 2

        [sinks.out]
        type = "file"
        inputs = ["half"]
        path = "{l.File("out.jsonl")}"
        """;

    /// <summary>The linear chain plus a second reader of the filter.</summary>
    private static string Chain(DaemonLayout l) => Linear(l) + $"""


        [sinks.all_clicks]
        type = "file"
        inputs = ["clicks"]
        path = "{l.File("clicks.jsonl")}"
        """;

    [Fact]
    public void ALinearChain_RunsOnOneThread_AndEachMemberKeepsItsCounters()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Linear);
        SendClicksAndViews(daemon, clicks: 100, views: 50);
        Eventually.True(() => SinkFile.CountLines(daemon.Layout.File("out.jsonl")) == 50, () => daemon.Stats().Json);

        CliResult info = daemon.Cli("ctl", "info");
        Assert.True(info.ExitCode == 0, info.Describe());
        Assert.Contains("thread clicks+half+out:", info.Stdout);
        Assert.DoesNotContain("thread clicks:", info.Stdout);

        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("events_processed_total", ("stage", "clicks")) == 150, stats.Json);
        Assert.True(stats.Value("events_processed_total", ("stage", "half")) == 100, stats.Json);
        Assert.True(stats.Value("sink_events_written_total", ("sink", "out")) == 50, stats.Json);
        foreach (string member in new[] { "clicks", "half", "out" })
        {
            Assert.True(stats.Value("stage_lag", ("stage", member)) == 0, $"{member}: {stats.Json}");
        }
    }

    [Fact]
    public void WithFusionOff_EveryStageHasItsThread()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Linear, new DaemonOptions { DaemonSettings = "fuse_chains = false" });
        SendClicksAndViews(daemon, clicks: 10, views: 0);
        Eventually.True(() => SinkFile.CountLines(daemon.Layout.File("out.jsonl")) == 5, () => daemon.Stats().Json);

        CliResult info = daemon.Cli("ctl", "info");
        Assert.True(info.ExitCode == 0, info.Describe());
        foreach (string stage in new[] { "clicks", "half", "out" })
        {
            Assert.Contains($"thread {stage}:", info.Stdout);
        }
    }

    [Fact]
    public void ATransformReadByTwoStages_KeepsItsOwnThread()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Chain);
        SendClicksAndViews(daemon, clicks: 20, views: 20);
        Eventually.True(() => SinkFile.CountLines(daemon.Layout.File("clicks.jsonl")) == 20
            && SinkFile.CountLines(daemon.Layout.File("out.jsonl")) == 10, () => daemon.Stats().Json);

        CliResult info = daemon.Cli("ctl", "info");
        Assert.True(info.ExitCode == 0, info.Describe());
        Assert.Contains("thread clicks:", info.Stdout);
        Assert.Contains("thread half+out:", info.Stdout);
        Assert.Contains("thread all_clicks:", info.Stdout);
    }

    private static void SendClicksAndViews(DaemonProcess daemon, int clicks, int views)
    {
        var lines = new System.Text.StringBuilder();
        for (int i = 0; i < clicks; i++)
        {
            lines.Append("{\"type\":\"click\",\"key\":\"k").Append(i).Append("\",\"value\":1}\n");
        }

        for (int i = 0; i < views; i++)
        {
            lines.Append("{\"type\":\"view\",\"value\":1}\n");
        }

        TestSockets.SendTcp(daemon.Layout.Port("in"), lines.ToString());
    }
}
