using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

public sealed class ConfigLoaderTests
{
    [Fact]
    public void SpecExample_LoadsWithEveryValueAsWritten()
    {
        EventdConfig config = ConfigTesting.Valid(ConfigTesting.SpecExample, ConfigTesting.RejectsAtAt);

        DaemonSettings daemon = config.Daemon;
        ConfigTesting.Equal("/run/eventd/eventd.sock", daemon.ControlSocket, "control_socket");
        ConfigTesting.Equal(1_048_576, daemon.RingSize, "ring_size");
        ConfigTesting.Equal(256L * 1024 * 1024, daemon.ArenaSize.Bytes, "arena_size");
        ConfigTesting.Equal(65_536, daemon.MaxEventBytes, "max_event_bytes");
        ConfigTesting.Equal(WaitStrategyKind.Adaptive, daemon.WaitStrategy, "wait_strategy");
        ConfigTesting.Equal<EquatableArray<int>>([1], daemon.ConsumerCpus, "consumer_cpus");
        Assert.True(daemon.LockMemory, "lock_memory = true was not read");
        ConfigTesting.Equal("/var/lib/eventd", daemon.StateDir, "state_dir");

        var source = Assert.IsType<TcpSourceConfig>(config.Sources["in"]);
        ConfigTesting.Equal(new HostPort("127.0.0.1", 7400), source.Address, "source address");
        ConfigTesting.Equal(SourceFormat.Json, source.Format, "source format");
        ConfigTesting.Equal(1024, source.MaxConnections, "max_connections");
        ConfigTesting.Equal(65_536, source.MaxEventBytes, "a source without its own limit takes the daemon's");

        var filter = Assert.IsType<FilterTransformConfig>(config.Transforms["purchases"]);
        ConfigTesting.Equal("type == \"purchase\" && value > 0", filter.Condition, "filter condition");
        ConfigTesting.Equal<EquatableArray<string>>(["in"], filter.Inputs, "filter inputs");

        var aggregate = Assert.IsType<AggregateTransformConfig>(config.Transforms["per_user"]);
        ConfigTesting.Equal(Duration.FromSeconds(1), aggregate.Window, "window");
        ConfigTesting.Equal<EquatableArray<FieldRef>>([FieldRef.Type, FieldRef.Key], aggregate.GroupBy, "group_by");
        ConfigTesting.Equal<EquatableArray<AggregateMetric>>(
            [AggregateMetric.Count, AggregateMetric.Sum, AggregateMetric.Min, AggregateMetric.Max, AggregateMetric.Mean, AggregateMetric.P50, AggregateMetric.P99],
            aggregate.Metrics,
            "metrics, in the order written");
        ConfigTesting.Equal(AggregateTime.Event, aggregate.Time, "time");
        ConfigTesting.Equal(Duration.FromSeconds(2), aggregate.AllowedLateness, "allowed_lateness");
        ConfigTesting.Equal(1_000_000, aggregate.MaxGroups, "max_groups");

        var sink = Assert.IsType<FileSinkConfig>(config.Sinks["out"]);
        ConfigTesting.Equal("/var/lib/eventd/per_user.jsonl", sink.Path, "file path");
        ConfigTesting.Equal(FsyncPolicy.Never, sink.Fsync, "default fsync");
        ConfigTesting.Equal(null, sink.RotateBytes, "rotate_bytes when absent");
        Assert.True(ConfigTesting.Lines(ConfigTesting.Parse(ConfigTesting.SpecExample)).Length == 0, "the SPEC example has diagnostics");
    }

    [Fact]
    public void SpecExample_OrdersStagesByDependencyWithTheirUpstream()
    {
        Topology topology = ConfigTesting.Valid(ConfigTesting.SpecExample).Topology;

        string[] order = [.. topology.Stages.Select(s => s.Name)];
        Assert.True(order.SequenceEqual(["purchases", "per_user", "out"]), $"stage order: {string.Join(", ", order)}");
        ConfigTesting.Equal<EquatableArray<StageInput>>([new StageInput("in", ComponentKind.Source, null)], topology.Stages[0].Upstream, "purchases reads");
        ConfigTesting.Equal<EquatableArray<StageInput>>([new StageInput("purchases", ComponentKind.Transform, null)], topology.Stages[1].Upstream, "per_user reads");
        ConfigTesting.Equal<EquatableArray<StageInput>>([new StageInput("per_user", ComponentKind.Transform, null)], topology.Stages[2].Upstream, "out reads");
        Assert.True(topology.DownstreamOf("in").SequenceEqual(["purchases"]), "downstream of the source");
        Assert.True(topology.Unconnected.Count == 0, "every component of the SPEC example reaches the sink");
        Assert.True(topology.Sources.Select(s => s.Name).SequenceEqual(["in"]), "topology sources");
    }

    [Fact]
    public void ComponentPosition_IsWhereItsTableIsDeclared()
    {
        EventdConfig config = ConfigTesting.Valid(ConfigTesting.SpecExample);

        ConfigTesting.Equal(new ConfigPosition("test.toml", 11, 1), config.Sources["in"].Position, "source position");
        ConfigTesting.Equal(new ConfigPosition("test.toml", 17, 1), config.Transforms["purchases"].Position, "filter position");
        ConfigTesting.Equal(new ConfigPosition("test.toml", 32, 1), config.Sinks["out"].Position, "sink position");
    }

    [Fact]
    public void MissingDaemonTable_TakesEveryDefault()
    {
        DaemonSettings daemon = ConfigTesting.Valid(ConfigTesting.Pipeline).Daemon;

        ConfigTesting.Equal(DefaultPaths.ControlSocket(), daemon.ControlSocket, "default control socket");
        ConfigTesting.Equal(DefaultPaths.StateDirectory(), daemon.StateDir, "default state directory");
        ConfigTesting.Equal(65_536, daemon.RingSize, "default ring_size");
        ConfigTesting.Equal(64L * 1024 * 1024, daemon.ArenaSize.Bytes, "default arena_size");
        ConfigTesting.Equal(65_536, daemon.MaxEventBytes, "default max_event_bytes");
        ConfigTesting.Equal(WaitStrategyKind.Adaptive, daemon.WaitStrategy, "default wait_strategy");
        Assert.True(daemon.ConsumerCpus.IsEmpty, "consumer threads are not pinned by default");
        Assert.False(daemon.LockMemory, "memory is not locked by default");
        ConfigTesting.Equal(100, daemon.ErrorsKept, "default errors_kept");
        ConfigTesting.Equal(Duration.FromSeconds(30), daemon.DrainTimeout, "default drain_timeout");
        Assert.True(daemon.FuseChains, "linear chains run on one thread by default");
        Assert.True(daemon.IdleHandoff, "stream source threads run idle stages by default");
    }

    [Fact]
    public void EmbeddedDefault_IsValidAndMatchesTheSpec()
    {
        ConfigResult result = EmbeddedConfig.Load(ConfigTesting.RejectsAtAt);
        Assert.True(result.Succeeded, "embedded config rejected:\n" + string.Join('\n', ConfigTesting.Lines(result)));
        Assert.True(result.Diagnostics.Count == 0, "embedded config has warnings:\n" + string.Join('\n', ConfigTesting.Lines(result)));
        EventdConfig config = result.Config;

        var tcp = Assert.IsType<TcpSourceConfig>(config.Sources["tcp"]);
        ConfigTesting.Equal(new HostPort("127.0.0.1", 7400), tcp.Address, "tcp address");
        ConfigTesting.Equal(SourceFormat.Json, tcp.Format, "tcp format");
        var udp = Assert.IsType<UdpSourceConfig>(config.Sources["udp"]);
        ConfigTesting.Equal(new HostPort("127.0.0.1", 7401), udp.Address, "udp address");
        ConfigTesting.Equal(SourceFormat.Json, udp.Format, "udp format");

        var aggregate = Assert.IsType<AggregateTransformConfig>(Assert.Single(config.Transforms.Values));
        ConfigTesting.Equal(Duration.FromSeconds(1), aggregate.Window, "window");
        ConfigTesting.Equal(AggregateTime.Processing, aggregate.Time, "time");
        ConfigTesting.Equal<EquatableArray<FieldRef>>([FieldRef.Type], aggregate.GroupBy, "group_by");
        ConfigTesting.Equal<EquatableArray<AggregateMetric>>(
            [AggregateMetric.Count, AggregateMetric.Sum, AggregateMetric.Min, AggregateMetric.Max, AggregateMetric.Mean, AggregateMetric.P99],
            aggregate.Metrics,
            "metrics");
        ConfigTesting.Equal<EquatableArray<string>>(["tcp", "udp"], aggregate.Inputs, "aggregate inputs");

        var sink = Assert.IsType<StdoutSinkConfig>(Assert.Single(config.Sinks.Values));
        ConfigTesting.Equal<EquatableArray<string>>([aggregate.Name], sink.Inputs, "stdout reads the aggregate");
        ConfigTesting.Equal(DefaultPaths.ControlSocket(), config.Daemon.ControlSocket, "control socket at the default path");
        ConfigTesting.Equal(EmbeddedConfig.SourceName, config.SourceName, "source name");
    }

    [Fact]
    public void EveryComponentType_LoadsWithItsSettings()
    {
        EventdConfig config = ConfigTesting.Valid(ConfigRendererTests.EveryType, ConfigTesting.RejectsAtAt);

        var unix = Assert.IsType<UnixSourceConfig>(config.Sources["local"]);
        ConfigTesting.Equal("/run/eventd/in.sock", unix.Path, "unix path");
        ConfigTesting.Equal(SourceFormat.Binary, unix.Format, "unix format");
        ConfigTesting.Equal(4096, unix.MaxEventBytes, "a source's own max_event_bytes");
        var nats = Assert.IsType<NatsSourceConfig>(config.Sources["jet"]);
        ConfigTesting.Equal(("nats://10.0.0.1:4222", "EVENTS", "events.>", "eventd"), (nats.Url, nats.Stream, nats.Subject, nats.Consumer), "nats source");

        var route = Assert.IsType<RouteTransformConfig>(config.Transforms["split"]);
        ConfigTesting.Equal<EquatableArray<RouteOutput>>(
            [new RouteOutput("high", "value > 100"), new RouteOutput("low", "value <= 100")], route.Routes, "routes in order");
        var enrich = Assert.IsType<EnrichTransformConfig>(config.Transforms["users"]);
        ConfigTesting.Equal(FieldRef.Field("user_id"), enrich.Field, "enrich field");
        ConfigTesting.Equal("/etc/eventd/users.csv", enrich.Table, "enrich table");
        ConfigTesting.Equal<EquatableArray<string>>(["country", "plan"], enrich.Columns, "enrich columns");
        var sample = Assert.IsType<SampleTransformConfig>(config.Transforms["some"]);
        ConfigTesting.Equal((10, (FieldRef?)FieldRef.Key), (sample.Rate, sample.Key), "sample");
        var throttle = Assert.IsType<ThrottleTransformConfig>(config.Transforms["limited"]);
        ConfigTesting.Equal((1000, (FieldRef?)FieldRef.Field("ip"), 5000), (throttle.Limit, throttle.Key, throttle.MaxKeys), "throttle");
        var dedupe = Assert.IsType<DedupeTransformConfig>(config.Transforms["once"]);
        ConfigTesting.Equal((FieldRef.Field("id"), Duration.FromSeconds(60), 20_000), (dedupe.Field, dedupe.Window, dedupe.MaxKeys), "dedupe");

        var file = Assert.IsType<FileSinkConfig>(config.Sinks["archive"]);
        ConfigTesting.Equal((FsyncPolicy.Interval, Duration.FromMilliseconds(250), (ByteSize?)new ByteSize(128 * ByteSize.MiB)), (file.Fsync, file.FsyncInterval, file.RotateBytes), "file sink");
        var tcp = Assert.IsType<TcpSinkConfig>(config.Sinks["forward"]);
        ConfigTesting.Equal((new HostPort("::1", 9000), new ByteSize(4 * ByteSize.MiB), Duration.FromSeconds(10)), (tcp.Address, tcp.BufferBytes, tcp.MaxBackoff), "tcp sink");
        var natsSink = Assert.IsType<NatsSinkConfig>(config.Sinks["bus"]);
        ConfigTesting.Equal(("nats://127.0.0.1:4222", "eventd.out"), (natsSink.Url, natsSink.Subject), "nats sink with the default url");
    }

    [Fact]
    public void RouteOutputs_AreResolvedAsUpstreamWithTheirOutputName()
    {
        EventdConfig config = ConfigTesting.Valid(ConfigRendererTests.EveryType);

        TopologyStage users = config.Topology.Stages.Single(s => s.Name == "users");
        ConfigTesting.Equal<EquatableArray<StageInput>>(
            [new StageInput("split", ComponentKind.Transform, "high"), new StageInput("split", ComponentKind.Transform, "_unmatched")],
            users.Upstream,
            "enrich reads two outputs of the route");
    }

    [Fact]
    public void Stages_ComeAfterEverythingTheyRead_WhateverTheDeclarationOrder()
    {
        EventdConfig config = ConfigTesting.Valid("""
            [sinks.out]
            type = "blackhole"
            inputs = ["c", "a"]

            [transforms.c]
            type = "sample"
            inputs = ["b"]
            rate = 2

            [transforms.b]
            type = "sample"
            inputs = ["a"]
            rate = 2

            [transforms.a]
            type = "sample"
            inputs = ["in"]
            rate = 2

            [transforms.side]
            type = "sample"
            inputs = ["in"]
            rate = 2

            [sinks.side_out]
            type = "stdout"
            inputs = ["side"]

            [sources.in]
            type = "udp"
            address = "127.0.0.1:0"
            """);

        string[] order = [.. config.Topology.Stages.Select(s => s.Name)];
        Assert.True(order.SequenceEqual(["a", "b", "c", "side", "out", "side_out"]), $"stage order: {string.Join(", ", order)}");
        Assert.True(config.Topology.DownstreamOf("a").SequenceEqual(["b", "out"]), "downstream of a");
    }

    [Fact]
    public void InlineAndDottedTables_MeanTheSameAsHeaders()
    {
        EventdConfig headers = ConfigTesting.Valid(ConfigTesting.Pipeline);
        EventdConfig inline = ConfigTesting.Valid("""
            sources.in = { type = "tcp", address = "127.0.0.1:7400" }
            [sinks]
            out.type = "stdout"
            out.inputs = ["in"]
            """);

        Assert.True(headers.Equals(inline), "the same pipeline written with inline tables and dotted keys loads differently");
        ConfigTesting.Equal(new ConfigPosition("test.toml", 1, 9), inline.Sources["in"].Position, "an inline component is declared at its key");
        ConfigTesting.Equal(new ConfigPosition("test.toml", 3, 1), inline.Sinks["out"].Position, "a dotted component is declared at its key");
    }

    [Fact]
    public void RelativePaths_AreResolvedAgainstTheConfigFilesDirectory()
    {
        ConfigResult result = ConfigLoader.Parse("""
            [daemon]
            state_dir = "state"

            [sources.in]
            type = "unix"
            path = "../run/in.sock"

            [sinks.out]
            type = "file"
            inputs = ["in"]
            path = "out/events.jsonl"
            """, "/etc/eventd/eventd.toml");

        Assert.True(result.Succeeded, string.Join('\n', ConfigTesting.Lines(result)));
        ConfigTesting.Equal("/etc/eventd/state", result.Config.Daemon.StateDir, "state_dir");
        ConfigTesting.Equal("/etc/run/in.sock", ((UnixSourceConfig)result.Config.Sources["in"]).Path, "unix path");
        ConfigTesting.Equal("/etc/eventd/out/events.jsonl", ((FileSinkConfig)result.Config.Sinks["out"]).Path, "file sink path");
    }

    [Fact]
    public void Load_ReadsAFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"eventd-config-test-{Environment.ProcessId}.toml");
        File.WriteAllText(path, ConfigTesting.SpecExample);
        try
        {
            ConfigResult result = ConfigLoader.Load(path);
            Assert.True(result.Succeeded, string.Join('\n', ConfigTesting.Lines(result)));
            ConfigTesting.Equal(path, result.Config.SourceName, "source name is the path given");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_MissingFile_ReportsOneLineNamingTheFix()
    {
        ConfigResult result = ConfigLoader.Load("/nonexistent/eventd.toml");

        ConfigTesting.Reports(result, "/nonexistent/eventd.toml: config file not found (check --config; without it, eventd run uses its embedded default)");
        Assert.False(result.Succeeded, "a missing file produced a config");
    }

    [Fact]
    public void Load_Directory_SaysItIsNotAFile()
    {
        ConfigResult result = ConfigLoader.Load(Path.GetTempPath());

        ConfigTesting.Reports(result, $"{Path.GetTempPath()}: is a directory, not a config file");
    }

    [Fact]
    public void Equality_IgnoresPositionsAndDeclarationOrder_ButNotValues()
    {
        EventdConfig original = ConfigTesting.Valid(ConfigTesting.Pipeline);
        EventdConfig moved = ConfigTesting.Valid("# a comment moves every line down\n\n[sinks.out]\ntype = \"stdout\"\ninputs = [\"in\"]\n\n[sources.in]\ntype = \"tcp\"\naddress = \"127.0.0.1:7400\"\n");
        EventdConfig changed = ConfigTesting.Valid(ConfigTesting.Pipeline.Replace("7400", "7402", StringComparison.Ordinal));

        Assert.True(original.Equals(moved), "moving components around changed the model");
        ConfigTesting.Equal(original.GetHashCode(), moved.GetHashCode(), "hash codes of equal configs");
        Assert.False(original.Equals(changed), "a different port compared equal");
    }
}
