using EventDaemon.Daemon.Tests.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>What the nats sink of this build cannot do is refused by validate, as run would refuse it; partitions are read with their subject.</summary>
public sealed class NatsSinkConfigTests
{
    [Fact]
    public void Validate_RefusesHalfPartitionedSubjectsAndNonNatsUrls_ThatRunCannotServe()
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
            "test.toml:8:11: subject: 'events.{partition}': {partition} needs partition_by (the field to hash) and partitions (how many)",
            "test.toml:13:7: url: \"tls://127.0.0.1:4222\": the nats sink supports plain nats:// URLs without credentials in this build");
    }

    [Fact]
    public void Validate_AcceptsAPartitionedSubject_WithItsFieldAndCount()
    {
        var config = ConfigTesting.Valid("""
            [sources.a]
            type = "tcp"
            address = "127.0.0.1:7400"

            [sinks.bus]
            type = "nats"
            inputs = ["a"]
            subject = "events.{partition}.in"
            partition_by = ".user"
            partitions = 16
            """);
        var bus = Assert.IsType<EventDaemon.Daemon.Config.NatsSinkConfig>(config.Sinks["bus"]);
        Assert.True((bus.PartitionBy, bus.Partitions) == ("user", 16), $"partition_by/partitions read as {bus.PartitionBy}/{bus.Partitions}");
    }

    [Theory]
    [InlineData("{\"user\":\"alice\",\"v\":1}", "{\"v\":2,\"user\":\"alice\"}")]
    [InlineData("{\"user\":42}", "{\"user\" : 42 , \"x\":[1,2]}")]
    public void PartitionOf_IsTheSameForTheSameValue_WhereverTheFieldSits(string first, string second)
    {
        int a = EventDaemon.Daemon.Sinks.Transports.NatsTransport.PartitionOf(System.Text.Encoding.UTF8.GetBytes(first), "user"u8, 16);
        int b = EventDaemon.Daemon.Sinks.Transports.NatsTransport.PartitionOf(System.Text.Encoding.UTF8.GetBytes(second), "user"u8, 16);
        Assert.True(a == b && a is >= 0 and < 16, $"the same user went to partitions {a} and {b}");
    }

    [Theory]
    [InlineData("{\"user\":\"alice\"}", 16, 3)]
    [InlineData("{\"user\":\"bob\"}", 16, 15)]
    [InlineData("{\"user\":42}", 1000, 504)]
    public void PartitionOf_IsPinned_SoEveryProcessAndVersionAgrees(string line, int partitions, int expected)
    {
        int partition = EventDaemon.Daemon.Sinks.Transports.NatsTransport.PartitionOf(System.Text.Encoding.UTF8.GetBytes(line), "user"u8, partitions);
        Assert.True(partition == expected, $"{line} is in partition {partition} of {partitions}; it was {expected}: changing the hash moves every group between instances");
    }

    [Fact]
    public void PartitionOf_SpreadsValuesOverEveryPartition_AndSendsAMissingFieldToZero()
    {
        var seen = new HashSet<int>();
        for (int i = 0; i < 1000; i++)
        {
            seen.Add(EventDaemon.Daemon.Sinks.Transports.NatsTransport.PartitionOf(System.Text.Encoding.UTF8.GetBytes($"{{\"user\":\"u{i}\"}}"), "user"u8, 8));
        }

        Assert.True(seen.Count == 8, $"1000 users landed on {seen.Count} of 8 partitions");
        int missing = EventDaemon.Daemon.Sinks.Transports.NatsTransport.PartitionOf("{\"other\":1}"u8, "user"u8, 8);
        Assert.True(missing == 0, $"an event without the field went to partition {missing}, not 0");
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
