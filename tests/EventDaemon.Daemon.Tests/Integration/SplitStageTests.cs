using System.Text;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// <c>threads = 2</c> on an aggregate, with a filter on a named field fused before it, against the
/// published binary: the filter runs on both of the aggregate's threads, <c>ctl info</c> shows the
/// plan, counters sum over the threads, and the window results equal those of one thread.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class SplitStageTests(ITestOutputHelper output)
{
    private const long Base = 1_764_151_200_000_000_000;

    private static Func<DaemonLayout, string> Pipeline(int threads) => l => $"""
        [sources.in]
        type = "tcp"
        address = "{l.Address("in")}"
        format = "json"

        [transforms.wanted]
        type = "filter"
        inputs = ["in"]
        condition = 'value >= 10 && .region != "ap"'

        [transforms.per_key]
        type = "aggregate"
        inputs = ["wanted"]
        window = "1s"
        group_by = ["type", "key"]
        metrics = ["count", "sum", "max", "p99"]
        time = "event"
        threads = {threads}

        [sinks.out]
        type = "file"
        inputs = ["per_key"]
        path = "{l.File("out.jsonl")}"
        """;

    [Fact]
    public void AggregateOnTwoThreads_WritesExactlyWhatOneThreadWrites()
    {
        string events = Events();
        (List<string> one, _) = Run(1, events);
        (List<string> two, CliResult info) = Run(2, events);

        Assert.Contains("thread wanted+per_key#0:", info.Stdout);
        Assert.Contains("thread wanted+per_key#1:", info.Stdout);
        Assert.Contains("per_key (main ring, 2 threads by group key", info.Stdout);
        Assert.True(one.Count > 1000, $"the stream should close many groups, got {one.Count} lines");
        Assert.True(one.Order(StringComparer.Ordinal).SequenceEqual(two.Order(StringComparer.Ordinal)),
            $"the window results differ: {one.Count} lines on one thread, {two.Count} on two; first of one: {one[0]}");
    }

    private (List<string> Lines, CliResult Info) Run(int threads, string events)
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Pipeline(threads));
        TestSockets.SendTcp(daemon.Layout.Port("in"), events);
        int sent = events.Count(c => c == '\n');
        Eventually.True(() => daemon.Stats().Value("events_processed_total", ("stage", "wanted")) == sent, () => daemon.Stats().Json);

        StatsSnapshot stats = daemon.Stats();
        double passed = stats.Value("events_processed_total", ("stage", "per_key"));
        Assert.True(passed > 0 && passed < sent, $"the filter passes some, not all ({passed} of {sent}): {stats.Json}");
        CliResult info = daemon.Cli("ctl", "info");
        Assert.True(info.ExitCode == 0, info.Describe());

        // Drain emits the windows still open, then the daemon exits.
        CliResult drain = daemon.Cli("ctl", "drain");
        Assert.True(drain.ExitCode == 0, drain.Describe());
        int exit = daemon.WaitForExit();
        Assert.True(exit == 0, $"exit code {exit}; stderr:\n{daemon.Stderr}");
        return (SinkFile.TextLines(daemon.Layout.File("out.jsonl")), info);
    }

    /// <summary>8,000 events over 20 s of event time, 300 keys, a quarter in region "ap" or below value 10.</summary>
    private static string Events()
    {
        var random = new Random(3);
        string[] types = ["view", "click", "buy"];
        string[] regions = ["eu", "us", "ap", "eu"];
        var text = new StringBuilder();
        for (int i = 0; i < 8000; i++)
        {
            long ts = Base + (i * 2_500_000L) + random.Next(1000);
            text.Append("{\"ts\":").Append(ts)
                .Append(",\"type\":\"").Append(types[random.Next(types.Length)])
                .Append("\",\"key\":\"user-").Append(random.Next(300))
                .Append("\",\"value\":").Append(random.Next(100)).Append('.').Append(random.Next(10))
                .Append(",\"region\":\"").Append(regions[random.Next(regions.Length)]).Append("\"}\n");
        }

        return text.ToString();
    }
}
