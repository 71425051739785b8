using System.Text;
using EventDaemon.Daemon.Config;
using EventDaemon.Daemon.Sources;
using EventDaemon.Daemon.Tests.Config;
using Xunit;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>The nats source's options as validate and run read them, and the delivery count it reads from an ack subject.</summary>
public sealed class NatsSourceConfigTests
{
    [Fact]
    public void Validate_AcceptsTheSource_WithTheConsumerOptionsOrTheirDefaults()
    {
        EventdConfig config = ConfigTesting.Valid("""
            [sources.bus]
            type = "nats"
            url = "nats://127.0.0.1:4222,nats://127.0.0.1:4223"
            stream = "EVENTS"
            consumer = "eventd"
            batch = 64
            ack_wait = "10s"
            max_ack_pending = 5000
            max_deliver = 3

            [sources.plain]
            type = "nats"
            stream = "EVENTS"
            consumer = "other"

            [sinks.out]
            type = "blackhole"
            inputs = ["bus", "plain"]
            """);
        var bus = Assert.IsType<NatsSourceConfig>(config.Sources["bus"]);
        ConfigTesting.Equal((64, Duration.FromSeconds(10), 5000, 3), (bus.Batch, bus.AckWaitOrDefault, bus.MaxAckPending, bus.MaxDeliver), "the options as written");
        var plain = Assert.IsType<NatsSourceConfig>(config.Sources["plain"]);
        ConfigTesting.Equal(
            (NatsSourceConfig.DefaultBatch, NatsSourceConfig.DefaultAckWait, NatsSourceConfig.DefaultMaxAckPending, NatsSourceConfig.DefaultMaxDeliver),
            (plain.Batch, plain.AckWaitOrDefault, plain.MaxAckPending, plain.MaxDeliver), "the defaults");
    }

    [Fact]
    public void Validate_RefusesWhatTheSourceCannotServe()
    {
        ConfigTesting.Rejects("""
            [sources.tls]
            type = "nats"
            url = "tls://127.0.0.1:4222"
            stream = "EVENTS"
            consumer = "eventd"

            [sources.big]
            type = "nats"
            stream = "EVENTS"
            consumer = "eventd"
            batch = 600
            max_ack_pending = 500

            [sinks.out]
            type = "blackhole"
            inputs = ["tls", "big"]
            """,
            "test.toml:3:7: url: \"tls://127.0.0.1:4222\": the nats source supports plain nats:// URLs without credentials in this build",
            "test.toml:11:9: batch: 600 is more than max_ack_pending (500): a pull could never be filled");
    }

    [Fact]
    public void Validate_AcceptsOwnedPartitions_AsAListOrThroughLeases()
    {
        EventdConfig config = ConfigTesting.Valid("""
            [sources.listed]
            type = "nats"
            stream = "EVENTS"
            consumer = "agg"
            subject = "events.{partition}"
            partitions = [0, 3]
            partition_count = 4

            [sources.leased]
            type = "nats"
            stream = "EVENTS"
            consumer = "agg"
            subject = "events.p{partition}.in"
            partitions = "auto"
            partition_count = 16
            lease_ttl = "6s"

            [sinks.out]
            type = "blackhole"
            inputs = ["listed", "leased"]
            """);
        var listed = Assert.IsType<NatsSourceConfig>(config.Sources["listed"]);
        ConfigTesting.Equal(("0,3", 4, false), (string.Join(",", listed.Partitions), listed.PartitionCount, listed.LeasePartitions), "the listed partitions");
        ConfigTesting.Equal(("agg-p3", "events.3"), (listed.PartitionConsumer(3), listed.PartitionSubject(3)), "partition 3's consumer and filter subject");
        var leased = Assert.IsType<NatsSourceConfig>(config.Sources["leased"]);
        ConfigTesting.Equal((true, 16, "agg_leases", Duration.FromSeconds(6)),
            (leased.LeasePartitions, leased.PartitionCount, leased.LeaseBucketOrDefault, leased.LeaseTtlOrDefault), "the leased partitions");
        ConfigTesting.Equal("events.p7.in", leased.PartitionSubject(7), "partition 7's filter subject");
    }

    [Fact]
    public void Validate_RefusesPartitionsTheSourceCannotConsume()
    {
        ConfigTesting.Rejects("""
            [sources.range]
            type = "nats"
            stream = "EVENTS"
            consumer = "a"
            subject = "events.{partition}"
            partitions = [1, 4]
            partition_count = 4

            [sources.wild]
            type = "nats"
            stream = "EVENTS"
            consumer = "b"
            subject = "events.*.{partition}"
            partitions = [0]
            partition_count = 2

            [sources.nosubject]
            type = "nats"
            stream = "EVENTS"
            consumer = "c"
            subject = "events.>"
            partitions = "auto"
            partition_count = 2

            [sources.word]
            type = "nats"
            stream = "EVENTS"
            consumer = "d"
            subject = "events.{partition}"
            partitions = "all"
            partition_count = 2

            [sources.ttl]
            type = "nats"
            stream = "EVENTS"
            consumer = "e"
            subject = "events.{partition}"
            partitions = [0, 0]
            partition_count = 2
            lease_ttl = "5s"

            [sinks.out]
            type = "blackhole"
            inputs = ["range", "wild", "nosubject", "word", "ttl"]
            """,
            "test.toml:6:18: partitions: 4 is not a partition of partition_count 4 (0 to 3)",
            "test.toml:13:11: subject: 'events.*.{partition}': a partitioned subject has no wildcards and no placeholder but {partition}: each partition is one concrete subject",
            "test.toml:21:11: partitions: the subject needs {partition} once (e.g. subject = \"events.{partition}\", as the nats sink publishes)",
            "test.toml:30:14: partitions: expected a list of partition numbers or \"auto\" (claimed through leases), found \"all\"",
            "test.toml:38:18: partitions: 0 is listed twice",
            "test.toml:40:1: lease_ttl: leases need partitions = \"auto\", not a list");
    }

    [Theory]
    [InlineData("$JS.ACK.EVENTS.eventd.1.42.40.1733500000000000000.7", 1, 42)]
    [InlineData("$JS.ACK.EVENTS.eventd.3.43.40.1733500000000000000.0", 3, 43)]
    [InlineData("$JS.ACK.hub.ACCHASH.EVENTS.eventd.5.44.40.1733500000000000000.0.tok", 5, 44)]
    public void AckSubject_GivesDeliveryCountAndStreamSequence_InBothShapes(string subject, long delivered, long sequence)
    {
        (long d, long s) = NatsSource.ParseAckSubject(Encoding.ASCII.GetBytes(subject));
        Assert.True((d, s) == (delivered, sequence), $"({d}, {s}) read from '{subject}', expected ({delivered}, {sequence})");
    }
}
