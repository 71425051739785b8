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

    /// <summary>Removes every message; the duplicate window's ids are kept.</summary>
    public async Task PurgeAsync(string stream)
    {
        INatsJSStream s = await _js.GetStreamAsync(stream);
        await s.PurgeAsync(new StreamPurgeRequest());
    }

    /// <summary>How many messages the stream holds now.</summary>
    public async Task<long> CountAsync(string stream)
    {
        INatsJSStream s = await _js.GetStreamAsync(stream);
        return (long)s.Info.State.Messages;
    }

    /// <summary>Every message body the stream holds, in stream order.</summary>
    public async Task<List<byte[]>> ReadAllAsync(string stream)
    {
        INatsJSStream s = await _js.GetStreamAsync(stream);
        var bodies = new List<byte[]>();
        ulong last = s.Info.State.LastSeq;
        for (ulong seq = s.Info.State.FirstSeq; seq <= last && last > 0; seq++)
        {
            StreamMsgGetResponse response = await s.GetAsync(new StreamMsgGetRequest { Seq = seq });
            bodies.Add(response.Message.Data.ToArray());
        }

        return bodies;
    }

    public async ValueTask DisposeAsync() => await _connection.DisposeAsync();

    public void Dispose() => _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
