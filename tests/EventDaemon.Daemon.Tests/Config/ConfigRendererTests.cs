using EventDaemon.Daemon.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Config;

public sealed class ConfigRendererTests
{
    /// <summary>One component of every type, most settings away from their defaults.</summary>
    public const string EveryType = """
        [daemon]
        control_socket = "/run/eventd/ctl.sock"
        ring_size = 4096
        arena_size = "16MiB"
        max_event_bytes = "8KiB"
        wait_strategy = "busy-spin"
        consumer_cpus = [2, 3]
        lock_memory = true
        state_dir = "/var/lib/eventd-test"
        errors_kept = 10
        drain_timeout = "5s"

        [sources.local]
        type = "unix"
        path = "/run/eventd/in.sock"
        format = "binary"
        max_event_bytes = 4096
        max_connections = 16

        [sources.jet]
        type = "nats"
        url = "nats://10.0.0.1:4222"
        stream = "EVENTS"
        subject = "events.>"
        consumer = "eventd"

        [sources.datagrams]
        type = "udp"
        address = "[::1]:7401"

        [transforms.split]
        type = "route"
        inputs = ["local", "jet", "datagrams"]
        routes = { high = "value > 100", low = 'value <= 100' }

        [transforms.users]
        type = "enrich"
        inputs = ["split.high", "split._unmatched"]
        field = ".user_id"
        table = "/etc/eventd/users.csv"
        key_column = "id"
        columns = ["country", "plan"]

        [transforms.some]
        type = "sample"
        inputs = ["users"]
        rate = 10
        key = "key"

        [transforms.limited]
        type = "throttle"
        inputs = ["split.low"]
        limit = 1000
        key = ".ip"
        max_keys = 5000

        [transforms.once]
        type = "dedupe"
        inputs = ["limited"]
        field = ".id"
        window = "1m"
        max_keys = 20000

        [transforms.quoted]
        type = "filter"
        inputs = ["once"]
        condition = "key == 'it''s' || starts_with(.path, \"C:\\\\\")"

        [transforms.windows]
        type = "aggregate"
        inputs = ["quoted"]
        window = "250ms"
        group_by = [".region"]
        metrics = ["p90", "p999", "count"]
        time = "event"
        allowed_lateness = "1500ms"

        [sinks.archive]
        type = "file"
        inputs = ["some"]
        path = "/var/lib/eventd/archive.jsonl"
        rotate_bytes = "128MiB"
        fsync = "interval"
        fsync_interval = "250ms"

        [sinks.forward]
        type = "tcp"
        inputs = ["windows"]
        address = "[::1]:9000"
        buffer_bytes = "4MiB"
        max_backoff = "10s"

        [sinks.bus]
        type = "nats"
        inputs = ["windows"]
        subject = "eventd.out"

        [sinks.drop]
        type = "blackhole"
        inputs = ["windows"]

        [sinks.console]
        type = "stdout"
        inputs = ["some"]
        """;

    [Theory]
    [InlineData(ConfigTesting.SpecExample)]
    [InlineData(EmbeddedConfig.Text)]
    [InlineData(EveryType)]
    public void Rendering_ReparsesToAnEqualModel(string toml)
    {
        EventdConfig original = ConfigTesting.Valid(toml);
        string rendered = ConfigRenderer.Render(original);

        ConfigResult reparsed = ConfigTesting.Parse(rendered);
        Assert.True(reparsed.Succeeded, "the rendered config does not load:\n" + string.Join('\n', ConfigTesting.Lines(reparsed)) + "\n" + rendered);
        Assert.True(original.Equals(reparsed.Config), "the rendered config loads to a different model:\n" + rendered);
        ConfigTesting.Equal(rendered, ConfigRenderer.Render(reparsed.Config), "rendering the reparsed config");
    }

    [Fact]
    public void Rendering_SpellsOutDefaults()
    {
        string rendered = ConfigRenderer.Render(ConfigTesting.Valid(ConfigTesting.Pipeline));

        string[] expected =
        [
            "ring_size = 65536",
            "arena_size = \"64MiB\"",
            "wait_strategy = \"adaptive\"",
            "lock_memory = false",
            "errors_kept = 100",
            "drain_timeout = \"30s\"",
            "fuse_chains = true",
            "idle_handoff = true",
            "max_connections = 1024",
            "format = \"json\"",
            $"control_socket = \"{DefaultPaths.ControlSocket()}\"",
        ];
        foreach (string line in expected)
        {
            Assert.True(rendered.Contains(line + "\n", StringComparison.Ordinal), $"missing '{line}' in:\n{rendered}");
        }
    }

    [Fact]
    public void Rendering_QuotesConditionsSoTheyReadAsWritten()
    {
        string rendered = ConfigRenderer.Render(ConfigTesting.Valid(ConfigTesting.SpecExample));

        Assert.True(
            rendered.Contains("condition = 'type == \"purchase\" && value > 0'\n", StringComparison.Ordinal),
            $"the condition is not rendered as a literal string:\n{rendered}");
    }

    [Fact]
    public void ToString_OfAConfig_IsItsRendering()
    {
        EventdConfig config = ConfigTesting.Valid(ConfigTesting.Pipeline);

        ConfigTesting.Equal(ConfigRenderer.Render(config), config.ToString(), "EventdConfig.ToString()");
    }
}
