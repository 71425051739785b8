using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

/// <summary>Each kind of mistake, with the exact line an operator sees.</summary>
public sealed class ConfigErrorTests
{
    [Fact]
    public void TomlSyntaxError_IsReportedWithTheParsersPosition()
    {
        ConfigTesting.Rejects(
            "[daemon]\nring_size = \n" + ConfigTesting.Pipeline,
            "test.toml:2:13: missing value after '='");
    }

    [Fact]
    public void TomlSyntaxError_DoesNotAlsoReportWhatItHid()
    {
        // The broken header swallows the source's keys; "missing address" or "unknown input 'in'"
        // would be noise, while the bad enum on another line is still worth reporting.
        ConfigTesting.Rejects(
            """
            [daemon]
            wait_strategy = "fast"

            [sources.in
            type = "tcp"

            [sinks.out]
            type = "stdout"
            inputs = ["in"]
            """,
            "test.toml:2:17: wait_strategy: unknown value 'fast'; expected one of adaptive, busy-spin, yielding, sleeping, blocking",
            "test.toml:4:12: missing ']' at the end of the table header");
    }

    [Fact]
    public void DuplicateKey_NamesWhereItWasFirstDefined()
    {
        ConfigTesting.Rejects(
            ConfigTesting.Pipeline + "\ninputs = [\"in\"]\n",
            "test.toml:8:1: duplicate key 'inputs' (first defined on line 7)");
    }

    [Fact]
    public void TableDefinedTwice_NamesWhereItWasFirstDefined()
    {
        ConfigTesting.Rejects(
            ConfigTesting.Pipeline + "\n\n[sinks.out]\ntype = \"blackhole\"\n",
            "test.toml:9:1: table [sinks.out] is defined twice (first on line 5)");
    }

    [Fact]
    public void TablesDefinedOneWay_CannotBeExtendedAnother()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tcp"

            [sources]
            in.address = "127.0.0.1:7400"
            spare = { type = "udp", address = "127.0.0.1:7401" }

            [sources.spare.extra]
            x = 1

            [sinks.out]
            type = "stdout"
            inputs = ["in", "spare"]
            """,
            "test.toml:1:1: source 'in' is missing required key 'address' (e.g. address = \"127.0.0.1:7400\")",
            "test.toml:5:1: 'in' is already defined on line 1; a dotted key cannot add to it",
            "test.toml:8:10: 'sources.spare' is an inline table (line 6) and cannot be extended");
    }

    [Fact]
    public void UnknownTopLevelTable_SuggestsTheClosestOne()
    {
        ConfigTesting.Rejects(
            ConfigTesting.Pipeline + "\n\n[sink.extra]\ntype = \"stdout\"\n",
            "test.toml:9:2: unknown table [sink] (did you mean [sinks]?); a config has [daemon], [journal], [sources.NAME], [transforms.NAME] and [sinks.NAME]");
    }

    [Fact]
    public void DaemonKeyAtTopLevel_SaysWhereItBelongs()
    {
        ConfigTesting.Rejects(
            "ring_size = 1024\n" + ConfigTesting.Pipeline,
            "test.toml:1:1: key 'ring_size' belongs in the [daemon] table");
    }

    [Fact]
    public void UnknownKey_SuggestsTheClosestKnownKey()
    {
        ConfigTesting.Rejects(
            """
            [daemon]
            ring_sise = 1024

            [sources.in]
            type = "tcp"
            adress = "127.0.0.1:7400"

            [sinks.out]
            type = "stdout"
            inputs = ["in"]
            colour = "blue"
            """,
            "test.toml:2:1: unknown key 'ring_sise' in [daemon] (did you mean 'ring_size'?)",
            "test.toml:4:1: source 'in' is missing required key 'address' (e.g. address = \"127.0.0.1:7400\")",
            "test.toml:6:1: unknown key 'adress' in source 'in' (did you mean 'address'?)",
            "test.toml:11:1: unknown key 'colour' in sink 'out'");
    }

    [Fact]
    public void KeyOfAnotherType_SaysWhichTypesItAppliesTo()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "udp"
            address = "127.0.0.1:7401"
            max_connections = 10

            [sinks.out]
            type = "stdout"
            inputs = ["in"]
            path = "/tmp/out"
            """,
            "test.toml:4:1: unknown key 'max_connections' in source 'in' (it applies to tcp and unix sources, not udp)",
            "test.toml:9:1: unknown key 'path' in sink 'out' (it applies to file sinks, not stdout)");
    }

    [Fact]
    public void WrongValueType_SaysWhatWasExpectedAndFound()
    {
        ConfigTesting.Rejects(
            """
            [daemon]
            ring_size = "big"
            lock_memory = "yes"
            control_socket = 7
            consumer_cpus = [1, "2"]
            max_event_bytes = 1.5
            """ + "\n" + ConfigTesting.Pipeline.Replace("inputs = [\"in\"]", "inputs = \"in\"", StringComparison.Ordinal),
            "test.toml:2:13: ring_size: expected an integer, found a string",
            "test.toml:3:15: lock_memory: expected a boolean (true or false), found a string",
            "test.toml:4:18: control_socket: expected a string, found an integer",
            "test.toml:5:21: consumer_cpus[1]: expected an integer, found a string",
            "test.toml:6:19: max_event_bytes: expected a size (bytes, or a string such as \"64MiB\"), found a float",
            "test.toml:13:10: inputs: expected an array of strings, found a string (write inputs = [\"in\"])");
    }

    [Fact]
    public void BadEnumValue_ListsTheAllowedValues()
    {
        ConfigTesting.Rejects(
            """
            [daemon]
            wait_strategy = "yeilding"

            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"
            format = "xml"

            [sinks.out]
            type = "file"
            inputs = ["in"]
            path = "/tmp/out.jsonl"
            fsync = "sometimes"
            """,
            "test.toml:2:17: wait_strategy: unknown value 'yeilding' (did you mean 'yielding'?); expected one of adaptive, busy-spin, yielding, sleeping, blocking",
            "test.toml:7:10: format: unknown value 'xml'; expected one of json, binary",
            "test.toml:13:9: fsync: unknown value 'sometimes'; expected one of never, interval, always");
    }

    [Fact]
    public void BadDurationsAndSizes_SayWhatIsWrongWithThem()
    {
        ConfigTesting.Rejects(
            """
            [daemon]
            arena_size = "64M"
            drain_timeout = 30

            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.agg]
            type = "aggregate"
            inputs = ["in"]
            window = "5"
            metrics = ["count"]

            [transforms.once]
            type = "dedupe"
            inputs = ["agg"]
            field = ".id"
            window = "0s"

            [sinks.out]
            type = "file"
            inputs = ["once"]
            path = "/tmp/out.jsonl"
            rotate_bytes = "1KiB"
            """,
            "test.toml:2:14: arena_size: ambiguous unit 'M' in \"64M\": write \"64MiB\" (1024-based) or \"64MB\" (1000-based)",
            "test.toml:3:17: drain_timeout: a duration needs a unit, found the bare number 30 (write \"30s\" or \"30ms\")",
            "test.toml:12:10: window: \"5\" has no unit (write e.g. \"5s\" or \"5ms\"; units: ns, us, ms, s, m, h)",
            "test.toml:19:10: window: must be longer than 0s",
            "test.toml:25:16: rotate_bytes: must be at least 4KiB, found 1KiB");
    }

    [Fact]
    public void RingSizeNotAPowerOfTwo_OffersTheNearestOnes()
    {
        ConfigTesting.Rejects(
            "[daemon]\nring_size = 1000\n" + ConfigTesting.Pipeline,
            "test.toml:2:13: ring_size: 1000 is not a power of two (nearest: 512 or 1024)");
    }

    [Fact]
    public void OutOfRangeNumbers_SayTheRange()
    {
        ConfigTesting.Rejects(
            """
            [daemon]
            ring_size = 1
            consumer_cpus = [0, 0, 4096]
            max_event_bytes = "1MiB"
            arena_size = "512KiB"

            [sources.in]
            type = "tcp"
            address = "127.0.0.1:70000"
            max_connections = 0

            [sinks.out]
            type = "stdout"
            inputs = ["in"]
            """,
            "test.toml:2:13: ring_size: must be between 2 and 1073741824, found 1",
            "test.toml:3:21: consumer_cpus: CPU 0 is listed twice",
            "test.toml:3:24: consumer_cpus[2]: CPU 4096 is out of range (0-1023)",
            "test.toml:4:19: max_event_bytes: 1MiB does not fit in arena_size (512KiB)",
            "test.toml:9:11: address: \"70000\" in \"127.0.0.1:70000\" is not a port (0-65535)",
            "test.toml:10:19: max_connections: must be between 1 and 1000000, found 0");
    }

    [Fact]
    public void MissingType_ListsTheTypesOfThatKind()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            address = "127.0.0.1:7400"

            [transforms.t]
            inputs = ["in"]

            [sinks.out]
            inputs = ["t"]
            """,
            "test.toml:1:1: source 'in' is missing required key 'type' (one of tcp, udp, unix, nats)",
            "test.toml:4:1: transform 't' is missing required key 'type' (one of filter, aggregate, enrich, route, sample, throttle, dedupe)",
            "test.toml:7:1: sink 'out' is missing required key 'type' (one of stdout, file, tcp, blackhole, nats)");
    }

    [Fact]
    public void UnknownType_SuggestsTheClosestType_AndDoesNotCascade()
    {
        // 'in' still exists for the sink's inputs, and its keys are not reported as unknown.
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tpc"
            address = "127.0.0.1:7400"

            [sinks.out]
            type = "stdout"
            inputs = ["in"]
            """,
            "test.toml:2:8: type: unknown source type 'tpc' (did you mean 'tcp'?); expected one of tcp, udp, unix, nats");
    }

    [Fact]
    public void MissingRequiredKeys_AreEachReportedAtTheTable()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "nats"

            [transforms.agg]
            type = "aggregate"
            inputs = ["in"]

            [transforms.f]
            type = "filter"
            inputs = ["agg"]

            [sinks.out]
            type = "file"
            """,
            "test.toml:1:1: source 'in' is missing required key 'stream' (the JetStream stream to consume)",
            "test.toml:1:1: source 'in' is missing required key 'consumer' (the durable consumer's name, shared by every instance)",
            "test.toml:4:1: transform 'agg' is missing required key 'window' (e.g. window = \"1s\")",
            "test.toml:4:1: transform 'agg' is missing required key 'metrics' (some of count, sum, min, max, mean, p50, p90, p99, p999)",
            "test.toml:8:1: transform 'f' is missing required key 'condition' (e.g. condition = 'type == \"purchase\"')",
            "test.toml:12:1: sink 'out' is missing required key 'inputs' (the components it reads from, e.g. inputs = [\"in\"])",
            "test.toml:12:1: sink 'out' is missing required key 'path' (the file to append JSON lines to)");
    }

    [Fact]
    public void UnknownInput_SuggestsTheClosestComponent()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.purchases]
            type = "filter"
            inputs = ["in"]
            condition = "true"

            [sinks.out]
            type = "stdout"
            inputs = ["purchse", "nothing_like_it"]
            """,
            "test.toml:12:11: inputs: unknown component 'purchse' (did you mean 'purchases'?)",
            "test.toml:12:22: inputs: unknown component 'nothing_like_it'");
    }

    [Fact]
    public void SinkAsInput_IsRejected()
    {
        ConfigTesting.Rejects(
            ConfigTesting.Pipeline + "\n\n[sinks.copy]\ntype = \"stdout\"\ninputs = [\"out\"]\n",
            "test.toml:11:11: inputs: 'out' is a sink; sinks have no output to read");
    }

    [Fact]
    public void SourceWithInputs_IsRejected()
    {
        ConfigTesting.Rejects(
            ConfigTesting.Pipeline.Replace("type = \"tcp\"", "type = \"tcp\"\ninputs = [\"out\"]", StringComparison.Ordinal),
            "test.toml:3:1: sources take no inputs; remove 'inputs' from source 'in'");
    }

    [Fact]
    public void EmptyAndRepeatedInputs_AreRejected()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.t]
            type = "sample"
            inputs = []
            rate = 2

            [sinks.out]
            type = "stdout"
            inputs = ["in", "t", "in"]
            """,
            "test.toml:7:10: inputs: must name at least one component",
            "test.toml:12:22: inputs: 'in' is listed twice");
    }

    [Fact]
    public void DuplicateNameAcrossKinds_IsReportedAtTheLaterDeclaration()
    {
        ConfigTesting.Rejects(
            ConfigTesting.Pipeline + "\n\n[transforms.in]\ntype = \"sample\"\ninputs = [\"in\"]\nrate = 2\n",
            "test.toml:9:1: transform 'in' has the same name as the source on line 1; names must be unique across sources, transforms and sinks");
    }

    [Fact]
    public void InvalidComponentName_IsRejected()
    {
        ConfigTesting.Rejects(
            ConfigTesting.Pipeline + "\n\n[sinks.\"a.b\"]\ntype = \"stdout\"\ninputs = [\"in\"]\n",
            "test.toml:9:8: invalid sink name 'a.b': use letters, digits, '_' and '-' only");
    }

    [Fact]
    public void RouteOutputs_MustExist_AndARouteIsReadThroughAnOutput()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.r]
            type = "route"
            inputs = ["in"]
            routes = { high = "value > 10", low = "value < 1" }

            [transforms.f]
            type = "sample"
            inputs = ["in.x"]
            rate = 2

            [sinks.out]
            type = "stdout"
            inputs = ["r.hgh", "r", "r._unmatched", "r.low", "f"]
            """,
            "test.toml:12:11: inputs: 'in.x' reads an output of 'in', but only route transforms have named outputs (write 'in')",
            "test.toml:17:11: inputs: route 'r' has no output 'hgh' (did you mean 'high'?); its outputs are r.high, r.low, r._unmatched",
            "test.toml:17:20: inputs: 'r' is a route; read one of its outputs: r.high, r.low, r._unmatched");
    }

    [Fact]
    public void RouteDefinitions_AreChecked()
    {
        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.r]
            type = "route"
            inputs = ["in"]

            [transforms.r.routes]
            _unmatched = "true"
            big = 5
            empty = "  "

            [transforms.none]
            type = "route"
            inputs = ["in"]
            routes = {}

            [sinks.out]
            type = "stdout"
            inputs = ["r._unmatched", "none._unmatched"]
            """,
            "test.toml:10:1: routes._unmatched: '_unmatched' is reserved for the events no route matched",
            "test.toml:11:7: routes.big: expected a string (the output's condition), found an integer",
            "test.toml:12:9: routes.empty: the condition is empty",
            "test.toml:17:10: routes: must define at least one output");
    }

    [Fact]
    public void SettingThatDependsOnAnother_SaysWhichValueItNeeds()
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
            allowed_lateness = "2s"

            [sinks.out]
            type = "file"
            inputs = ["agg"]
            path = "/tmp/out.jsonl"
            fsync = "always"
            fsync_interval = "1s"
            """,
            "test.toml:10:1: allowed_lateness: only applies with time = \"event\" (the default is \"processing\")",
            "test.toml:17:1: fsync_interval: only applies with fsync = \"interval\" (this sink has fsync = \"always\")");
    }

    [Fact]
    public void LatenessBeyondTheOpenWindowBound_IsRefused()
    {
        const string Config = """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.agg]
            type = "aggregate"
            inputs = ["in"]
            window = "1s"
            metrics = ["count"]
            time = "event"
            allowed_lateness = "{0}"

            [sinks.out]
            type = "stdout"
            inputs = ["agg"]
            """;
        ConfigTesting.Rejects(
            Config.Replace("{0}", "62001ms", StringComparison.Ordinal),
            "test.toml:11:1: allowed_lateness: 62001ms keeps up to 65 windows of 1s open; an aggregate holds at most 64 (allowed_lateness ≤ 62 × window)");
        ConfigTesting.Valid(Config.Replace("{0}", "62s", StringComparison.Ordinal));
    }

    [Fact]
    public void AggregateLists_AreChecked()
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
            group_by = ["type", "user", "type"]
            metrics = ["count", "avg", "count"]

            [sinks.out]
            type = "stdout"
            inputs = ["agg"]
            """,
            "test.toml:9:21: group_by[1]: 'user' is not a field reference (use type, key or .name; did you mean '.user'?)",
            "test.toml:9:29: group_by: 'type' is listed twice",
            "test.toml:10:21: metrics[1]: unknown metric 'avg'; expected some of count, sum, min, max, mean, p50, p90, p99, p999",
            "test.toml:10:28: metrics: 'count' is listed twice");
    }

    [Fact]
    public void AddressesAndNatsNames_AreChecked()
    {
        ConfigTesting.Rejects(
            """
            [sources.a]
            type = "tcp"
            address = "7400"

            [sources.b]
            type = "udp"
            address = "::1:7401"

            [sources.c]
            type = "nats"
            url = "http://localhost"
            stream = "a.b"
            consumer = "eventd"

            [sinks.out]
            type = "tcp"
            inputs = ["a", "b", "c"]
            address = "collector:0"

            [sinks.bus]
            type = "nats"
            inputs = ["a"]
            subject = "events.*"
            """,
            "test.toml:3:11: address: \"7400\" has no port (write host:port, e.g. \"127.0.0.1:7400\")",
            "test.toml:7:11: address: \"::1:7401\" looks like an IPv6 address without brackets (write \"[::1]:7401\")",
            "test.toml:11:7: url: \"http://localhost\" is not a NATS server URL (e.g. \"nats://127.0.0.1:4222\")",
            "test.toml:12:10: stream: 'a.b' is not a valid name (no spaces, '.', '*', '>', '/' or '\\')",
            "test.toml:18:11: address: port 0 in \"collector:0\" cannot be connected to",
            "test.toml:23:11: subject: 'events.*' has wildcards; a sink publishes to one concrete subject");
    }

    [Fact]
    public void EmptyConfig_SaysWhatIsMissing()
    {
        ConfigTesting.Rejects(
            "# nothing yet\n",
            "test.toml:1:1: no sources are configured (add a [sources.NAME] table)",
            "test.toml:1:1: no sinks are configured (add a [sinks.NAME] table)");
    }

    [Fact]
    public void UnconnectedComponent_IsAWarning_AndTheConfigStillLoads()
    {
        ConfigResult result = ConfigTesting.Parse(ConfigTesting.Pipeline + """


            [sources.spare]
            type = "udp"
            address = "127.0.0.1:7401"

            [transforms.dead_end]
            type = "sample"
            inputs = ["in"]
            rate = 5
            """);

        Assert.True(result.Succeeded, "a config with an unconnected component was rejected");
        ConfigTesting.Reports(
            result,
            "test.toml:9:1: warning: source 'spare' is not connected to any sink; its events are dropped",
            "test.toml:13:1: warning: transform 'dead_end' is not connected to any sink; its output is dropped");
        Assert.True(result.Config.Topology.Unconnected.SetEquals(["spare", "dead_end"]), "Topology.Unconnected");
        Assert.True(result.Warnings.Count() == 2 && !result.Errors.Any(), "warnings and errors are told apart");
    }

    [Fact]
    public void SeveralErrors_AreAllReportedAtOnce_SortedByPosition()
    {
        ConfigResult result = ConfigTesting.Parse(
            """
            [sinks.out]
            type = "stdout"
            inputs = ["agg"]

            [transforms.agg]
            type = "aggregate"
            inputs = ["inn"]
            window = 5
            metrics = ["count"]

            [daemon]
            ring_size = 3000

            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"
            typo = 1
            """);

        ConfigTesting.Reports(
            result,
            "test.toml:7:11: inputs: unknown component 'inn' (did you mean 'in'?)",
            "test.toml:8:10: window: a duration needs a unit, found the bare number 5 (write \"5s\" or \"5ms\")",
            "test.toml:12:13: ring_size: 3000 is not a power of two (nearest: 2048 or 4096)",
            "test.toml:17:1: unknown key 'typo' in source 'in' (did you mean 'type'?)");
        Assert.True(result.Config is null, "a config with errors produced a model");
    }

    [Fact]
    public void Threads_AcceptsANumberOrAuto_AndRefusesStagesWithOneStateForAllEvents()
    {
        EventdConfig config = ConfigTesting.Valid(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.agg]
            type = "aggregate"
            inputs = ["in"]
            window = "1s"
            metrics = ["count"]
            threads = 3

            [transforms.keep]
            type = "filter"
            inputs = ["in"]
            condition = 'value > 1'
            threads = "auto"

            [sinks.out]
            type = "stdout"
            inputs = ["agg"]

            [sinks.kept]
            type = "stdout"
            inputs = ["keep"]
            """);
        Assert.True(config.Transforms["agg"].Threads == 3, $"threads = 3 should bind, got {config.Transforms["agg"].Threads}");
        Assert.True(config.Transforms["keep"].Threads == TransformConfig.AutoThreads, "threads = \"auto\" should bind to AutoThreads");

        ConfigTesting.Rejects(
            """
            [sources.in]
            type = "tcp"
            address = "127.0.0.1:7400"

            [transforms.some]
            type = "sample"
            inputs = ["in"]
            rate = 10
            threads = 2

            [transforms.slow]
            type = "throttle"
            inputs = ["some"]
            limit = 5
            threads = "many"

            [transforms.few]
            type = "throttle"
            inputs = ["slow"]
            limit = 5
            key = "key"
            threads = 0

            [sinks.out]
            type = "stdout"
            inputs = ["few"]
            """,
            "test.toml:9:11: threads: a sample without a key keeps 1 in rate of all its events, so it runs on one thread; give it a key to split it by key",
            "test.toml:15:11: threads: expected an integer between 1 and 64 or \"auto\", found \"many\"",
            "test.toml:22:11: threads: must be between 1 and 64, found 0");
    }
}
