using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventDaemon.Daemon.Tests.Nats;

/// <summary>
/// The tests' view of JetStream through the official client: creates streams and reads back what
/// a stream holds, independently of the daemon's own protocol code.
/// </summary>
public sealed class JetStreamProbe : IAsyncDisposable, IDisposable
{
    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;

    public JetStreamProbe(string url)
    {
        _connection = new NatsConnection(new NatsOpts { Url = url, Name = "eventd-tests" });
        _js = new NatsJSContext(_connection);
    }

    public async Task CreateStreamAsync(string name, params string[] subjects)
    {
        await _js.CreateStreamAsync(new StreamConfig(name, subjects) { DuplicateWindow = TimeSpan.FromMinutes(2) });
    }

    /// <summary>A stream that refuses new messages once it holds <paramref name="maxMessages"/>: PubAcks with an error.</summary>
    public async Task CreateBoundedStreamAsync(string name, long maxMessages, params string[] subjects)
    {
        await _js.CreateStreamAsync(new StreamConfig(name, subjects)
        {
            MaxMsgs = maxMessages,
            Discard = StreamConfigDiscard.New,
            DuplicateWindow = TimeSpan.FromMinutes(2),
        });
    }

    /// <summary>
    /// The stream's info. A test may just have killed a leader: while the cluster elects another, a
    /// request gets no answer, so it is asked again until one comes (for up to 30 s).
    /// </summary>
    private async Task<INatsJSStream> StreamAsync(string stream)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return await _js.GetStreamAsync(stream);
            }
            catch (NatsJSApiNoResponseException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Removes every message; the duplicate window's ids are kept.</summary>
    public async Task PurgeAsync(string stream)
    {
        INatsJSStream s = await StreamAsync(stream);
        await s.PurgeAsync(new StreamPurgeRequest());
    }

    /// <summary>How many messages the stream holds now.</summary>
    public async Task<long> CountAsync(string stream)
    {
        INatsJSStream s = await StreamAsync(stream);
        return (long)s.Info.State.Messages;
    }

    /// <summary>Every message the stream holds with the subject it was published to, in stream order.</summary>
    public async Task<List<(string Subject, byte[] Body)>> ReadAllWithSubjectsAsync(string stream)
    {
        INatsJSStream s = await StreamAsync(stream);
        var messages = new List<(string, byte[])>();
        ulong last = s.Info.State.LastSeq;
        for (ulong seq = s.Info.State.FirstSeq; seq <= last && last > 0; seq++)
        {
            StreamMsgGetResponse response = await s.GetAsync(new StreamMsgGetRequest { Seq = seq });
            messages.Add((response.Message.Subject, response.Message.Data.ToArray()));
        }

        return messages;
    }

    /// <summary>Every message body the stream holds, in stream order.</summary>
    public async Task<List<byte[]>> ReadAllAsync(string stream)
    {
        INatsJSStream s = await StreamAsync(stream);
        var bodies = new List<byte[]>();
        ulong last = s.Info.State.LastSeq;
        for (ulong seq = s.Info.State.FirstSeq; seq <= last && last > 0; seq++)
        {
            StreamMsgGetResponse response = await s.GetAsync(new StreamMsgGetRequest { Seq = seq });
            bodies.Add(response.Message.Data.ToArray());
        }

        return bodies;
    }

    /// <summary>A stream replicated on <paramref name="replicas"/> servers, retried until the cluster has elected its meta leader (30 s at most).</summary>
    public async Task CreateReplicatedStreamAsync(string name, int replicas, params string[] subjects)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await _js.CreateStreamAsync(new StreamConfig(name, subjects) { NumReplicas = replicas, DuplicateWindow = TimeSpan.FromMinutes(2) });
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// Publishes one message with a message id, again and again until JetStream acknowledges it (a
    /// leader election in between): the id makes a repeat stored once. False when it never is within 30 s.
    /// </summary>
    public async Task<bool> PublishUntilStoredAsync(string subject, byte[] body, string id)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                PubAckResponse ack = await _js.PublishAsync(subject, body, opts: new NatsJSPubOpts { MsgId = id });
                if (ack.Error is null)
                {
                    return true;
                }
            }
            catch (Exception)
            {
                // No leader for the moment, or the connected server died: the client reconnects.
            }

            await Task.Delay(100);
        }

        return false;
    }

    /// <summary>The server name of the stream's leader (<c>null</c> while none is elected).</summary>
    public async Task<string?> StreamLeaderAsync(string stream)
    {
        INatsJSStream s = await StreamAsync(stream);
        return s.Info.Cluster?.Leader;
    }

    /// <summary>The server name of the consumer's leader (<c>null</c> while none is elected).</summary>
    public async Task<string?> ConsumerLeaderAsync(string stream, string consumer)
    {
        INatsJSConsumer c = await _js.GetConsumerAsync(stream, consumer);
        return c.Info.Cluster?.Leader;
    }

    /// <summary>Publishes <paramref name="bodies"/> in order, each awaited to its PubAck (stored).</summary>
    public async Task PublishAsync(string subject, IEnumerable<byte[]> bodies)
    {
        foreach (byte[] body in bodies)
        {
            PubAckResponse ack = await _js.PublishAsync(subject, body);
            ack.EnsureSuccess();
        }
    }

    /// <summary>
    /// The durable consumer's state as the server sees it: delivered and not acknowledged
    /// (<c>num_ack_pending</c>), not delivered yet (<c>num_pending</c>), and delivered more than once.
    /// </summary>
    public async Task<(long AckPending, long Pending, long Redelivered)> ConsumerStateAsync(string stream, string consumer)
    {
        INatsJSConsumer c = await _js.GetConsumerAsync(stream, consumer);
        return (c.Info.NumAckPending, (long)c.Info.NumPending, c.Info.NumRedelivered);
    }

    public async ValueTask DisposeAsync() => await _connection.DisposeAsync();

    public void Dispose() => _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
