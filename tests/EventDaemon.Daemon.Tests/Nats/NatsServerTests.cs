using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Xunit;

namespace EventDaemon.Daemon.Tests.Nats;

public sealed class NatsServerTests
{
    [Fact]
    public async Task Start_GivesAJetStreamServer_ThatStoresWhatIsPublished()
    {
        using NatsServer server = NatsServer.Start();
        await using var probe = new JetStreamProbe(server.Url);
        await probe.CreateStreamAsync("FIXTURE", "fixture.>");

        await using (var nats = new NatsConnection(new NatsOpts { Url = server.Url }))
        {
            var js = new NatsJSContext(nats);
            PubAckResponse ack = await js.PublishAsync("fixture.a", Encoding.UTF8.GetBytes("hello"));
            Assert.True(ack.Error is null, $"the server refused the publish: {ack.Error?.Description}\n{server.Log}");
        }

        List<byte[]> bodies = await probe.ReadAllAsync("FIXTURE");
        Assert.True(bodies.Count == 1, $"the stream holds {bodies.Count} messages, expected the 1 published");
        Assert.True(Encoding.UTF8.GetString(bodies[0]) == "hello", $"the stream holds '{Encoding.UTF8.GetString(bodies[0])}', not what was published");
    }
}
