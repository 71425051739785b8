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
