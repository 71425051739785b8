using System.Text.RegularExpressions;
using EventDaemon.Daemon.Tests.Integration.Support;
using Xunit;

namespace EventDaemon.Daemon.Tests.Integration;

/// <summary>
/// <c>eventd graph</c> on the published binary: the topology with the daemon's own placement, a
/// fused chain drawn as one thread group and a stage split over two threads as one group of two.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class GraphTests : IDisposable
{
    // wanted (stateless) is read only by per_key, which runs on 2 threads: wanted is split the same
    // way and fused before it. errors -> loud -> alerts is a one-thread chain fused into one group.
    // out reads per_key's results from per_key's own ring.
    private const string Topology = """
        [sources.in]
        type = "tcp"
        address = "127.0.0.1:0"
        format = "json"

        [transforms.wanted]
        type = "filter"
        inputs = ["in"]
        condition = 'value >= 10'

        [transforms.per_key]
        type = "aggregate"
        inputs = ["wanted"]
        window = "1s"
        group_by = ["type"]
        metrics = ["count"]
        threads = 2

        [transforms.errors]
        type = "filter"
        inputs = ["in"]
        condition = 'type == "error"'

        [transforms.loud]
        type = "filter"
        inputs = ["errors"]
        condition = 'value > 100'

        [sinks.out]
        type = "blackhole"
        inputs = ["per_key"]

        [sinks.alerts]
        type = "stdout"
        inputs = ["loud"]
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("edt-graph-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Text_ShowsRingsThreadGroupsAndFusedChains()
    {
        CliResult result = EventdBinary.Run("graph", "--config", Write(Topology), "--format", "text");

        Assert.True(result.ExitCode == 0, result.Describe());
        const string expected = """
            sources (one thread each, writing ring main):
              in (tcp)
            ring main (65536 slots):
              thread group 1 (2 threads, split by group key, fused):
                wanted (filter) <- in
                + per_key (aggregate) <- wanted
              thread group 2 (1 thread, fused):
                errors (filter) <- in
                + loud (filter) <- errors
                + alerts (stdout sink) <- loud
            ring per_key (results of aggregate per_key):
              thread group 3 (1 thread):
                out (blackhole sink) <- per_key

            """;
        Assert.True(result.Stdout == expected.ReplaceLineEndings("\n"), $"unexpected text graph:\n{result.Describe()}");
    }

    [Fact]
    public void Dot_HasOneClusterPerThreadGroup_WithTheFusedStagesInside()
    {
        CliResult result = EventdBinary.Run("graph", "--config", Write(Topology));

        Assert.True(result.ExitCode == 0, result.Describe());
        string dot = result.Stdout;
        Assert.True(dot.StartsWith("digraph eventd {\n", StringComparison.Ordinal) && dot.EndsWith("}\n", StringComparison.Ordinal), $"not one digraph:\n{dot}");
        Assert.True(dot.Count(c => c == '{') == dot.Count(c => c == '}'), $"unbalanced braces:\n{dot}");

        Dictionary<string, string[]> clusters = Cluster().Matches(dot).ToDictionary(
            m => m.Groups["label"].Value,
            m => StageNode().Matches(m.Groups["body"].Value).Select(n => n.Groups["name"].Value).ToArray());
        Assert.True(clusters.Count == 3, $"expected 3 thread groups, found {clusters.Count}:\n{dot}");
        Assert.True(clusters.TryGetValue("thread group 1: 2 threads, split by group key, fused", out string[]? split) && split.SequenceEqual(["wanted", "per_key"]),
            $"the split aggregate with its fused filter should be one group of 2 threads:\n{dot}");
        Assert.True(clusters.TryGetValue("thread group 2: 1 thread, fused", out string[]? chain) && chain.SequenceEqual(["errors", "loud", "alerts"]),
            $"the chain errors -> loud -> alerts should be one fused group:\n{dot}");
        Assert.True(clusters.TryGetValue("thread group 3: 1 thread", out string[]? alone) && alone.SequenceEqual(["out"]),
            $"the sink of the aggregate's ring should run alone:\n{dot}");

        foreach (string edge in new[]
        {
            "\"source:in\" -> \"ring:main\"", "\"ring:main\" -> \"stage:wanted\"", "\"stage:wanted\" -> \"stage:per_key\"",
            "\"stage:per_key\" -> \"ring:per_key\"", "\"ring:per_key\" -> \"stage:out\"", "\"stage:loud\" -> \"stage:alerts\"",
        })
        {
            Assert.True(dot.Contains(edge, StringComparison.Ordinal), $"missing edge {edge}:\n{dot}");
        }
    }

    [Fact]
    public void WithoutConfig_DrawsTheEmbeddedDefault()
    {
        CliResult result = EventdBinary.Run("graph", "--format", "text");

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.True(result.Stdout.StartsWith("sources (one thread each, writing ring main):\n", StringComparison.Ordinal)
            && result.Stdout.Contains("thread group 1", StringComparison.Ordinal), $"the embedded default should be drawn:\n{result.Describe()}");
    }

    [Fact]
    public void ABadConfig_IsReportedAsValidateReportsIt_AndExitsOne()
    {
        string path = Write(Topology.Replace("inputs = [\"loud\"]", "inputs = [\"lod\"]", StringComparison.Ordinal));
        CliResult result = EventdBinary.Run("graph", "--config", path);

        Assert.True(result.ExitCode == 1 && result.Stdout.Length == 0, result.Describe());
        Assert.True(result.StderrLines.Length >= 1 && result.StderrLines.All(l => l.StartsWith(path + ":", StringComparison.Ordinal)),
            $"errors should be file:line:col lines:\n{result.Describe()}");
        result.AssertNoStackTrace();
    }

    private string Write(string text)
    {
        string path = Path.Combine(_dir, $"graph-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, text);
        return path;
    }

    [GeneratedRegex("subgraph \"cluster:[^\"]+\" \\{\\n    label=\"(?<label>[^\"]+)\"; style=dashed;\\n(?<body>(?:    [^\\n]*\\n)*?)  \\}")]
    private static partial Regex Cluster();

    [GeneratedRegex("^    \"stage:(?<name>[^\"]+)\" \\[", RegexOptions.Multiline)]
    private static partial Regex StageNode();
}
