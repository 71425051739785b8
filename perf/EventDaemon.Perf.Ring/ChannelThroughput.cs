using System.Threading.Channels;

namespace EventDaemon.Perf.Ring;

/// <summary>The same scenarios through bounded channels, one per consumer edge: the yardstick.</summary>
internal static class ChannelThroughput
{
    private const int ChannelCapacity = 1 << 16;

    public static Result Run(string scenario, long events) => scenario switch
    {
        "1p1c" or "1p1c-batched" => ChannelUnicast(events),
        "pipeline" => ChannelPipeline(events),
        "multicast" => ChannelMulticast(events),
        "3p1c" => ChannelThreeProducers(events),
        _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, "unknown scenario"),
    };

    private static Result ChannelUnicast(long events)
    {
        Channel<long> channel = Bounded(singleWriter: true);
        return Result.Measure(events, () =>
        {
            Task<long> consumer = Task.Run(() => Drain(channel.Reader));
            Produce(channel.Writer, events).GetAwaiter().GetResult();
            channel.Writer.Complete();
            return consumer.GetAwaiter().GetResult();
        });
    }

    private static Result ChannelPipeline(long events)
    {
        Channel<long> first = Bounded(true), second = Bounded(true), third = Bounded(true);
        return Result.Measure(events, () =>
        {
            Task a = Task.Run(() => Forward(first.Reader, second.Writer));
            Task b = Task.Run(() => Forward(second.Reader, third.Writer));
            Task<long> c = Task.Run(() => Drain(third.Reader));
            Produce(first.Writer, events).GetAwaiter().GetResult();
            first.Writer.Complete();
            Task.WaitAll(a, b);
            return c.GetAwaiter().GetResult();
        });
    }

    private static Result ChannelMulticast(long events)
    {
        Channel<long>[] channels = [Bounded(true), Bounded(true), Bounded(true)];
        return Result.Measure(events, () =>
        {
            Task<long>[] consumers = channels.Select(c => Task.Run(() => Drain(c.Reader))).ToArray();
            Task.Run(async () =>
            {
                for (long i = 0; i < events; i++)
                {
                    foreach (Channel<long> c in channels)
                    {
                        if (!c.Writer.TryWrite(i))
                        {
                            await c.Writer.WriteAsync(i);
                        }
                    }
                }
            }).GetAwaiter().GetResult();
            foreach (Channel<long> c in channels)
            {
                c.Writer.Complete();
            }

            return consumers.Sum(t => t.GetAwaiter().GetResult());
        });
    }

    private static Result ChannelThreeProducers(long events)
    {
        Channel<long> channel = Bounded(singleWriter: false);
        return Result.Measure(events, () =>
        {
            Task<long> consumer = Task.Run(() => Drain(channel.Reader));
            Task[] producers = Enumerable.Range(0, 3).Select(_ => Task.Run(() => Produce(channel.Writer, events / 3))).ToArray();
            Task.WaitAll(producers);
            channel.Writer.Complete();
            return consumer.GetAwaiter().GetResult();
        });
    }

    private static Channel<long> Bounded(bool singleWriter) =>
        Channel.CreateBounded<long>(new BoundedChannelOptions(ChannelCapacity)
        {
            SingleReader = true,
            SingleWriter = singleWriter,
            FullMode = BoundedChannelFullMode.Wait,
        });

    private static async Task Produce(ChannelWriter<long> writer, long events)
    {
        for (long i = 0; i < events; i++)
        {
            if (!writer.TryWrite(i))
            {
                await writer.WriteAsync(i);
            }
        }
    }

    private static async Task<long> Drain(ChannelReader<long> reader)
    {
        long total = 0;
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out long value))
            {
                total += value;
            }
        }

        return total;
    }

    private static async Task Forward(ChannelReader<long> reader, ChannelWriter<long> writer)
    {
        while (await reader.WaitToReadAsync())
        {
            while (reader.TryRead(out long value))
            {
                if (!writer.TryWrite(value + 1))
                {
                    await writer.WriteAsync(value + 1);
                }
            }
        }

        writer.Complete();
    }
}
