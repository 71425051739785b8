using System.Diagnostics;
using System.Text.Json;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace EventDaemon.Perf.Nats;

/// <summary>
/// The yardstick: what a .NET developer writes first with NATS.Client for the same work. A durable
/// pull consumer read with <c>FetchAsync</c>, each body parsed with <see cref="JsonDocument"/>,
/// filtered, counted per type in a dictionary per 1 s window, each message acked after it is
/// counted, and every closed window's counts published to the output stream with a PubAck awaited.
/// </summary>
public static class Baseline
{
    public static async Task<Result> Run(string url, string stream, string consumer, int messages)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = url, Name = "bench-baseline" });
        var js = new NatsJSContext(nats);
        INatsJSConsumer c = await js.CreateOrUpdateConsumerAsync(stream, new ConsumerConfig(consumer)
        {
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
            MaxAckPending = 20000,
        });

        var counts = new Dictionary<string, long>();
        long window = -1;
        int received = 0;
        double latencyMs = 0;
        long gcBefore = GC.CollectionCount(0);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        while (received < messages)
        {
            await foreach (NatsJSMsg<byte[]> msg in c.FetchAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1024, Expires = TimeSpan.FromSeconds(2) }))
            {
                long start = Stopwatch.GetTimestamp();
                using (JsonDocument doc = JsonDocument.Parse(msg.Data))
                {
                    string type = doc.RootElement.GetProperty("type").GetString()!;
                    if (type != "noise")
                    {
                        long now = Environment.TickCount64 / 1000;
                        if (now != window && window >= 0)
                        {
                            await Publish(js, counts, window);
                        }

                        window = now;
                        counts[type] = counts.GetValueOrDefault(type) + 1;
                    }
                }

                await msg.AckAsync();
                latencyMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                received++;
            }
        }

        await Publish(js, counts, window);
        double seconds = clock.Elapsed.TotalSeconds;
        long gc = GC.CollectionCount(0) - gcBefore;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        return new Result("NATS.Client loop", received / seconds, gc, (double)allocated / received, latencyMs / received, seconds);
    }

    private static async Task Publish(NatsJSContext js, Dictionary<string, long> counts, long window)
    {
        foreach ((string type, long count) in counts)
        {
            byte[] body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["window"] = window, ["type"] = type, ["count"] = count });
            (await js.PublishAsync("bench.out", body)).EnsureSuccess();
        }

        counts.Clear();
    }
}
