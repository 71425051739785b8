using System.Diagnostics;
using System.Net.Sockets;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// <c>eventd tap</c> against the published binary under load: a tapped filter shows only the
/// events it lets through, <c>--limit</c> ends the stream, an unknown target lists the valid
/// ones (sources and sinks included), and a client that never reads, on a stage or a source,
/// neither stops nor slows the pipeline: its drops are counted, it is cut off, and the target
/// can be tapped again.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class TapCommandTests(ITestOutputHelper output)
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
        type = "blackhole"
        inputs = ["clicks"]
        """;

    private static readonly string Load = string.Concat(Enumerable.Range(0, 50).Select(i =>
        $"{{\"type\":\"click\",\"key\":\"k{i}\",\"value\":{i}}}\n{{\"type\":\"view\",\"key\":\"k{i}\",\"value\":{i}}}\n"));

    [Fact]
    public void TapAFilter_UnderLoad_ShowsOnlyTheEventsThatPass_AndLimitEndsIt()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        using Traffic traffic = Traffic.Start(daemon.Layout.Port("in"), Load);
        CliResult result = daemon.Cli("tap", "clicks", "--limit", "200");
        Assert.True(result.ExitCode == 0, result.Describe());
        string[] lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 200, $"--limit 200 printed {lines.Length} lines:\n{result.Describe()}");
        Assert.True(lines.All(l => l.StartsWith("{\"type\":\"click\"", StringComparison.Ordinal) && l.EndsWith('}')),
            $"a line that is not a whole click event:\n{string.Join('\n', lines.Where(l => !l.StartsWith("{\"type\":\"click\"", StringComparison.Ordinal)).Take(5))}");

        // The client left after its limit: the tap is free for the next one.
        CliResult again = daemon.Cli("tap", "clicks", "--limit", "1", "--sample", "1/10");
        Assert.True(again.ExitCode == 0 && again.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 1, again.Describe());
        StatsSnapshot stats = daemon.Stats();
        Assert.True(stats.Value("tap_events_total", ("stage", "clicks")) >= 201, stats.Describe("tap_events_total"));
    }

    [Fact]
    public void ATapWhoseReaderLeaves_Exits0_AsWithHead()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        using Traffic traffic = Traffic.Start(daemon.Layout.Port("in"), Load);
        var start = new ProcessStartInfo(EventdBinary.Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["tap", "clicks", "--socket", daemon.ControlSocket])
        {
            start.ArgumentList.Add(arg);
        }

        using Process tap = Process.Start(start) ?? throw new InvalidOperationException("cannot start eventd tap");
        Task<string> stderr = tap.StandardError.ReadToEndAsync();
        string? first = tap.StandardOutput.ReadLine();
        Assert.True(first is not null && first.StartsWith("{\"type\":\"click\"", StringComparison.Ordinal), $"the first line was not a click: {first}");

        // What '| head -n 1' does once it has its line: the read end of the pipe goes away.
        tap.StandardOutput.Close();
        bool exited = tap.WaitForExit(Eventually.DefaultTimeout);
        if (!exited)
        {
            tap.Kill();
            tap.WaitForExit();
        }

        Assert.True(exited && tap.ExitCode == 0,
            $"eventd tap should end with 0 once its reader left; {(exited ? $"exit {tap.ExitCode}" : "still running after 30 s")}: {stderr.Result}");
    }

    [Fact]
    public void TapAnUnknownTarget_ListsTheSourcesStagesAndSinksThatCanBeTapped_AndExits2()
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        CliResult result = daemon.Cli("tap", "clikcs");
        Assert.True(result.ExitCode == 2, result.Describe());
        Assert.True(result.Stderr.Contains("unknown tap target 'clikcs'", StringComparison.Ordinal) && result.Stderr.Contains("can be tapped: in, clicks, out", StringComparison.Ordinal),
            "the reply should list the source, the stage and the sink, in the topology's order: " + result.Describe());
        result.AssertNoStackTrace();
    }

    /// <param name="target">A stage's tap (on its own thread) and a source's (offered by the ring's first stage, the same filter).</param>
    [Theory]
    [InlineData("clicks")]
    [InlineData("in")]
    public void ATapThatNeverReads_DoesNotStopThePipeline_AndItsDropsAreCounted(string target)
    {
        using DaemonProcess daemon = DaemonProcess.Start(output, Topology);
        using Traffic traffic = Traffic.Start(daemon.Layout.Port("in"), Load);
        using Socket stuck = TestSockets.ConnectUnix(daemon.ControlSocket);
        stuck.ReceiveBufferSize = 4096;
        TestSockets.SendAll(stuck, $"tap {target}\n");

        // Socket buffers, the loop's buffer and the tap's ring fill; then the stage drops and counts.
        StatsSnapshot dropping = Eventually.Value(
            daemon.Stats,
            s => s.Value("tap_dropped_total", ("stage", target)) > 0,
            s => "the tap never counted a drop: " + s.Describe("tap_dropped_total") + s.Describe("events_processed_total"));

        // Meanwhile the pipeline keeps its pace: the filter and the sink go on processing.
        double processed = dropping.Value("events_processed_total", ("stage", "clicks"));
        double written = dropping.Value("sink_events_written_total", ("sink", "out"));
        Eventually.True(
            () =>
            {
                StatsSnapshot now = daemon.Stats();
                return now.Value("events_processed_total", ("stage", "clicks")) > processed + 10_000
                    && now.Value("sink_events_written_total", ("sink", "out")) > written + 5_000;
            },
            () => "the pipeline stalled behind a tap that does not read: " + daemon.Stats().Describe("events_processed_total"));

        // The stuck client is cut off after the write deadline, which frees the tap for another.
        CliResult next = Eventually.Value(
            () => daemon.Cli("tap", target, "--limit", "5"),
            r => r.ExitCode == 0,
            r => "the stuck client was never cut off: " + r.Describe());
        Assert.True(next.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 5, next.Describe());
    }
}
