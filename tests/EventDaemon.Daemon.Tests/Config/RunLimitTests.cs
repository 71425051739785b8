using System.Net;
using System.Text;
using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

/// <summary>
/// What the pipeline builder refuses is refused when the config is checked, at the component or
/// value it is about: so <c>validate</c> never says ok to a config <c>run</c> would refuse.
/// </summary>
public sealed class RunLimitTests
{
    [Fact]
    public void AStageReadingAnAggregatesResultsAndRawEvents_IsRefusedAtTheInputFromTheOtherStream()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.agg]
            type = "aggregate"
            inputs = ["in"]
            window = "1s"
            metrics = ["count"]

            [sinks.out]
            type = "stdout"
            inputs = ["agg", "in"]
            """,
            "test.toml:13:18: inputs: 'in' is on the sources' stream but 'agg' is on the aggregate 'agg's; an aggregate's results can only be joined with what comes after that aggregate — use one stage per stream");
    }

    [Fact]
    public void StagesAfterAnAggregate_ReadItsStream_AndMayBeJoinedWithEachOther()
    {
        ConfigTesting.Valid(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.agg]
            type = "aggregate"
            inputs = ["in"]
            window = "1s"
            metrics = ["count"]

            [transforms.big]
            type = "filter"
            inputs = ["agg"]
            condition = 'value > 10'

            [sinks.out]
            type = "stdout"
            inputs = ["agg", "big"]
            """);
    }

    [Fact]
    public void TwoEnrichesOnOneStream_AreAccepted_EachKeepsItsRowsBesideTheRing()
    {
        ConfigTesting.Valid(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.users]
            type = "enrich"
            inputs = ["in"]
            field = ".user"
            table = "users.csv"

            [transforms.places]
            type = "enrich"
            inputs = ["users"]
            field = ".place"
            table = "places.csv"

            [sinks.out]
            type = "stdout"
            inputs = ["places"]
            """);
    }

    [Fact]
    public void The65thSource_IsRefusedAtItsHeader()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 65; i++)
        {
            text.Append($"[sources.in{i}]\ntype = \"udp\"\naddress = \"127.0.0.1:{7400 + i}\"\n\n");
        }

        text.Append("[sinks.out]\ntype = \"stdout\"\ninputs = [").AppendJoin(", ", Enumerable.Range(0, 65).Select(i => $"\"in{i}\"")).Append("]\n");

        ConfigTesting.Rejects(text.ToString(),
            "test.toml:257:1: source 'in64': at most 64 sources per daemon (this config has 65); merge sources that share a format onto one address");
    }

    [Fact]
    public void The257thStage_IsRefusedAtItsHeader()
    {
        var text = new StringBuilder(ConfigTesting.Pipeline).Append('\n');
        for (int i = 1; i < 300; i++)
        {
            text.Append($"\n[sinks.out{i}]\ntype = \"blackhole\"\ninputs = [\"in\"]\n");
        }

        // Sink out is the first stage (line 5); out256 is the 257th.
        ConfigTesting.Rejects(text.ToString(),
            $"test.toml:{9 + (255 * 4)}:1: sink 'out256': at most 256 transforms and sinks per daemon (this config has 300): each is a consumer thread with its own output buffer");
    }

    [Fact]
    public void MoreThan64FilterOutputsOnOneStream_AreRefusedAtTheStageThatGoesPast()
    {
        var text = new StringBuilder("[sources.in]\ntype = \"tcp\"\naddress = \"127.0.0.1:7400\"\n");
        string previous = "in";
        for (int i = 0; i < 65; i++)
        {
            text.Append($"\n[transforms.f{i}]\ntype = \"filter\"\ninputs = [\"{previous}\"]\ncondition = 'value > {i}'\n");
            previous = $"f{i}";
        }

        text.Append($"\n[sinks.out]\ntype = \"stdout\"\ninputs = [\"{previous}\"]\n");

        ConfigTesting.Rejects(text.ToString(),
            $"test.toml:{4 + (64 * 5) + 1}:1: transform 'f64': at most 64 filter, sample, throttle, dedupe, enrich and route outputs per stream; this one goes past it on the sources' stream");
    }

    [Theory]
    [InlineData("256.1.1.1:80", "\"256.1.1.1\" in \"256.1.1.1:80\" is not an IPv4 address (four numbers 0-255, e.g. \"127.0.0.1\")")]
    [InlineData("1.2.3.4.5:80", "\"1.2.3.4.5\" in \"1.2.3.4.5:80\" is not an IPv4 address (four numbers 0-255, e.g. \"127.0.0.1\")")]
    [InlineData("nohost.invalid:80", "the host name \"nohost.invalid\" does not resolve")]
    public void ASourceAddressThatCannotBeBound_IsRefusedAtItsValue(string address, string message)
    {
        ConfigResult result = ConfigTesting.Parse($"[sources.in]\ntype = \"tcp\"\naddress = \"{address}\"\n\n[sinks.out]\ntype = \"stdout\"\ninputs = [\"in\"]\n");

        string[] lines = ConfigTesting.Lines(result);
        Assert.True(lines.Length == 1 && lines[0].StartsWith($"test.toml:3:11: address: {message}", StringComparison.Ordinal),
            $"expected one error at 3:11 starting '{message}', got:\n{string.Join('\n', lines)}");
    }

    [Fact]
    public void ASourceHostName_IsResolvedOnce_IntoTheEndPointTheSourceBinds()
    {
        EventdConfig config = ConfigTesting.Valid("[sources.in]\ntype = \"udp\"\naddress = \"localhost:7401\"\n\n[sinks.out]\ntype = \"stdout\"\ninputs = [\"in\"]\n");

        var udp = Assert.IsType<UdpSourceConfig>(config.Sources["in"]);
        Assert.True(IPAddress.IsLoopback(udp.EndPoint.Address) && udp.EndPoint.Port == 7401,
            $"localhost:7401 should bind a loopback address on port 7401, got {udp.EndPoint}");
        ConfigTesting.Equal(new HostPort("localhost", 7401), udp.Address, "the address as written stays for messages and info");
    }

    [Fact]
    public void ATcpSinkHostName_IsNotResolvedAtLoad_SinceThePeersAddressMayChange()
    {
        ConfigTesting.Valid(ConfigTesting.Pipeline + "\n\n[sinks.fwd]\ntype = \"tcp\"\ninputs = [\"in\"]\naddress = \"collector.invalid:9000\"\n");
    }
}
