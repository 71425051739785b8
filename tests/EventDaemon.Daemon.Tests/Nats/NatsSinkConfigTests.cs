using EventDaemon.Daemon.Tests.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>What the nats sink of this build cannot do is refused by validate, as run would refuse it.</summary>
public sealed class NatsSinkConfigTests
{
    [Fact]
    public void Validate_RefusesPartitionsAndNonNatsUrls_ThatRunCannotServe()
    {
        ConfigTesting.Rejects("""
            [sources.a]
            type = "tcp"
            address = "127.0.0.1:7400"

            [sinks.parts]
            type = "nats"
            inputs = ["a"]
            subject = "events.{partition}"

            [sinks.tls]
            type = "nats"
            inputs = ["a"]
            url = "tls://127.0.0.1:4222"
            subject = "events.in"
            """,
            "test.toml:8:11: subject: 'events.{partition}': {partition} is not supported by this build",
            "test.toml:13:7: url: \"tls://127.0.0.1:4222\": the nats sink supports plain nats:// URLs without credentials in this build");
    }

    [Fact]
    public void Validate_AcceptsAPlainSubjectAndSeveralServers()
    {
        var config = ConfigTesting.Valid("""
            [sources.a]
            type = "tcp"
            address = "127.0.0.1:7400"

            [sinks.bus]
            type = "nats"
            inputs = ["a"]
            url = "nats://127.0.0.1:4222, nats://127.0.0.1:4223"
            subject = "events.in"
            """);
        Assert.True(config.Sinks.ContainsKey("bus"), "the nats sink is missing from a valid config");
    }
}
