using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using EventDaemon.Ring;
using EventDaemon.Ring.Memory;
using EventDaemon.Ring.Sequencing;
using EventDaemon.Ring.Waiting;

namespace EventDaemon.Perf.Ring;

/// <summary>
/// Ring hand-off throughput and latency against bounded System.Threading.Channels doing the same
/// work in the same process, so the ratio survives a noisy machine. Prints a table and writes
/// artifacts/bench/ring.json.
/// </summary>
public static class Program
{
    private const int RingSize = 1 << 16;

    public static int Main(string[] args)
    {
        long events = args.Length > 0 ? long.Parse(args[0]) : 20_000_000;
        int repeats = args.Length > 1 ? int.Parse(args[1]) : 3;
        string output = args.Length > 2 ? args[2] : "artifacts/bench/ring.json";
        string? only = args.Length > 3 ? args[3] : null;

        Console.WriteLine($"ring hand-off: {events:N0} events per run, best of {repeats}; ring {RingSize} slots, " +
            $"wait strategy adaptive (spin → yield → park), consumers not pinned; {Environment.ProcessorCount} CPUs");
        var scenarios = new (string Name, Func<Result> Ring, Func<Result> Channels)[]
        {
            ("1P→1C", () => Throughput.RingUnicast(events), () => Throughput.ChannelUnicast(events)),
            ("1P→1C, producer batches of 100", () => Throughput.RingUnicastBatched(events), () => Throughput.ChannelUnicast(events)),
            ("1P→3C pipeline", () => Throughput.RingPipeline(events), () => Throughput.ChannelPipeline(events)),
            ("1P→3C multicast", () => Throughput.RingMulticast(events), () => Throughput.ChannelMulticast(events)),
            ("3P→1C", () => Throughput.RingThreeProducers(events), () => Throughput.ChannelThreeProducers(events)),
        };
        var rows = new List<Row>();
        foreach (var (name, ring, channels) in scenarios)
        {
            // A fourth argument runs only the scenarios whose name starts with it (e.g. for profiling one).
            if (only is null || name.StartsWith(only, StringComparison.Ordinal))
            {
                rows.Add(Compare(name, repeats, ring, channels));
            }
        }

        Console.WriteLine();
        Console.WriteLine("| scenario | ring events/s | ring B/event | channels events/s | channels B/event | ratio |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (Row row in rows)
        {
            Console.WriteLine($"| {row.Name} | {row.Ring.EventsPerSecond:N0} | {row.Ring.BytesPerEvent:0.###} | " +
                $"{row.Channels.EventsPerSecond:N0} | {row.Channels.BytesPerEvent:0.###} | {row.Ratio:0.0}× |");
        }

        const int roundTrips = 200_000;
        Latency ringLatency = PingPong.Ring(roundTrips);
        Latency channelLatency = PingPong.Channels(roundTrips);
        Console.WriteLine();
        Console.WriteLine($"ping-pong round trip, {roundTrips:N0} trips (ns):");
        Console.WriteLine("| | p50 | p99 | p99.9 | max |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine($"| ring | {ringLatency.P50:N0} | {ringLatency.P99:N0} | {ringLatency.P999:N0} | {ringLatency.Max:N0} |");
        Console.WriteLine($"| channels | {channelLatency.P50:N0} | {channelLatency.P99:N0} | {channelLatency.P999:N0} | {channelLatency.Max:N0} |");

        Write(output, events, rows, ringLatency, channelLatency);
        Console.WriteLine();
        Console.WriteLine($"results written to {output}");
        return 0;
    }

    private static Row Compare(string name, int repeats, Func<Result> ring, Func<Result> channels)
    {
        Result bestRing = default, bestChannels = default;
        for (int i = 0; i < repeats; i++)
        {
            // Interleaved, so drift in the machine's speed hits both sides alike.
            Result r = ring();
            Result c = channels();
            if (r.EventsPerSecond > bestRing.EventsPerSecond)
            {
                bestRing = r;
            }

            if (c.EventsPerSecond > bestChannels.EventsPerSecond)
            {
                bestChannels = c;
            }
        }

        Console.WriteLine($"  {name}: ring {bestRing.EventsPerSecond:N0}/s, channels {bestChannels.EventsPerSecond:N0}/s");
        return new Row(name, bestRing, bestChannels);
    }

    private static void Write(string path, long events, List<Row> rows, Latency ring, Latency channels)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("benchmark", "ring");
        json.WriteString("date", DateTime.UtcNow.ToString("O"));
        json.WriteNumber("cpus", Environment.ProcessorCount);
        json.WriteNumber("events_per_run", events);
        json.WriteString("wait_strategy", "adaptive");
        json.WriteBoolean("pinned", false);
        json.WriteStartArray("throughput");
        foreach (Row row in rows)
        {
            json.WriteStartObject();
            json.WriteString("scenario", row.Name);
            json.WriteNumber("ring_events_per_second", Math.Round(row.Ring.EventsPerSecond));
            json.WriteNumber("ring_bytes_per_event", row.Ring.BytesPerEvent);
            json.WriteNumber("channels_events_per_second", Math.Round(row.Channels.EventsPerSecond));
            json.WriteNumber("channels_bytes_per_event", row.Channels.BytesPerEvent);
            json.WriteNumber("ratio", Math.Round(row.Ratio, 2));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteStartObject("ping_pong_ns");
        WriteLatency(json, "ring", ring);
        WriteLatency(json, "channels", channels);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteLatency(Utf8JsonWriter json, string name, Latency latency)
    {
        json.WriteStartObject(name);
        json.WriteNumber("p50", latency.P50);
        json.WriteNumber("p99", latency.P99);
        json.WriteNumber("p99_9", latency.P999);
        json.WriteNumber("max", latency.Max);
        json.WriteEndObject();
    }

    private readonly record struct Row(string Name, Result Ring, Result Channels)
    {
        public double Ratio => Ring.EventsPerSecond / Channels.EventsPerSecond;
    }
}

internal readonly record struct Result(double EventsPerSecond, double BytesPerEvent)
{
    /// <summary>Runs <paramref name="body"/> and turns its event count into a rate and an allocation figure.</summary>
    public static Result Measure(long events, Func<long> body)
    {
        GC.Collect();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        long checksum = body();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        if (checksum == long.MinValue)
        {
            Console.WriteLine("unreachable: keeps the checksum alive");
        }

        return new Result(events / seconds, (double)bytes / events);
    }
}

internal readonly record struct Latency(long P50, long P99, long P999, long Max)
{
    public static Latency From(long[] samples)
    {
        Array.Sort(samples);
        long At(double q) => samples[Math.Min(samples.Length - 1, (int)(q * samples.Length))];
        return new Latency(At(0.5), At(0.99), At(0.999), samples[^1]);
    }
}

internal struct Slot
{
    public long Value;
}

internal static class Throughput
{
    private const int RingSize = 1 << 16;
    private const int ChannelCapacity = 1 << 16;

    /// <summary>Per-event work for every consumer: fold the value into a running checksum.</summary>
    internal struct Sum : IEventHandler<Slot>
    {
        public long Total;

        public void OnStart()
        {
        }

        public void OnEvent(ref Slot slot, long sequence, bool endOfBatch) => Total += slot.Value;

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    /// <summary>A pipeline stage: adds one to the value it passes on.</summary>
    internal struct Increment : IEventHandler<Slot>
    {
        public void OnStart()
        {
        }

        public void OnEvent(ref Slot slot, long sequence, bool endOfBatch) => slot.Value++;

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    public static Result RingUnicast(long events) => RunRing(events, producers: 1, (graph, _) =>
    {
        graph.Add("sum", new Sum());
    });

    /// <summary>As sources publish: a run of events claimed and published together (one cursor write per run).</summary>
    public static Result RingUnicastBatched(long events)
    {
        const int batch = 100;
        using var ring = new RingBuffer<Slot>(RingSize);
        Sequencer sequencer = EventGraph<Slot, AdaptiveWait>.CreateSequencer(RingSize, multiProducer: false);
        using var graph = new EventGraph<Slot, AdaptiveWait>(ring, sequencer);
        graph.Add("sum", new Sum());
        graph.Start();
        return Result.Measure(events, () =>
        {
            for (long i = 0; i < events; i += batch)
            {
                long high = sequencer.Next(batch);
                for (long s = high - batch + 1; s <= high; s++)
                {
                    ring[s].Value = s;
                }

                sequencer.Publish(high - batch + 1, high);
            }

            graph.Halt(TimeSpan.FromMinutes(1));
            return Delivered(graph, (events + batch - 1) / batch * batch);
        });
    }

    public static Result RingPipeline(long events) => RunRing(events, producers: 1, (graph, _) =>
    {
        Stage a = graph.Add("inc-1", new Increment());
        Stage b = graph.Add("inc-2", new Increment(), after: [a]);
        graph.Add("sum", new Sum(), after: [b]);
    });

    public static Result RingMulticast(long events) => RunRing(events, producers: 1, (graph, _) =>
    {
        graph.Add("sum-1", new Sum());
        graph.Add("sum-2", new Sum());
        graph.Add("sum-3", new Sum());
    });

    public static Result RingThreeProducers(long events) => RunRing(events, producers: 3, (graph, _) =>
    {
        graph.Add("sum", new Sum());
    });

    private static Result RunRing(long events, int producers, Action<EventGraph<Slot, AdaptiveWait>, Sequencer> build)
    {
        using var ring = new RingBuffer<Slot>(RingSize);
        Sequencer sequencer = EventGraph<Slot, AdaptiveWait>.CreateSequencer(RingSize, multiProducer: producers > 1);
        using var graph = new EventGraph<Slot, AdaptiveWait>(ring, sequencer);
        build(graph, sequencer);
        graph.Start();
        return Result.Measure(events, () =>
        {
            long perProducer = events / producers;
            var threads = new Thread[producers];
            for (int p = 0; p < producers; p++)
            {
                threads[p] = sequencer is SingleProducerSequencer single
                    ? new Thread(() => PublishEach(single, ring, perProducer))
                    : new Thread(() => PublishEach((MultiProducerSequencer)sequencer, ring, perProducer));
                threads[p].Start();
            }

            foreach (Thread t in threads)
            {
                t.Join();
            }

            graph.Halt(TimeSpan.FromMinutes(1));
            return Delivered(graph, perProducer * producers);
        });
    }

    /// <summary>Checks that every stage saw every event, so a fast figure cannot come from a lost one.</summary>
    private static long Delivered(EventGraph<Slot, AdaptiveWait> graph, long published)
    {
        foreach (Stage stage in graph.Stages)
        {
            if (stage.Position != published - 1)
            {
                throw new InvalidOperationException($"stage '{stage.Name}' reached {stage.Position}, expected {published - 1}");
            }
        }

        return published;
    }

    /// <summary>One claim and one publish per event, through the sealed type as a source holds it:
    /// direct calls the compiler can inline.</summary>
    private static void PublishEach(SingleProducerSequencer sequencer, RingBuffer<Slot> ring, long events)
    {
        for (long i = 0; i < events; i++)
        {
            long s = sequencer.Next();
            ring[s].Value = i;
            sequencer.Publish(s);
        }
    }

    private static void PublishEach(MultiProducerSequencer sequencer, RingBuffer<Slot> ring, long events)
    {
        for (long i = 0; i < events; i++)
        {
            long s = sequencer.Next();
            ring[s].Value = i;
            sequencer.Publish(s);
        }
    }

    public static Result ChannelUnicast(long events)
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

    public static Result ChannelPipeline(long events)
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

    public static Result ChannelMulticast(long events)
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

    public static Result ChannelThreeProducers(long events)
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

internal static class PingPong
{
    /// <summary>The echo stage: on each ping, publishes a pong into the second ring (its one producer).</summary>
    private struct Echo : IEventHandler<Slot>
    {
        public Sequencer Pong;
        public RingBuffer<Slot> PongRing;

        public void OnStart()
        {
        }

        public void OnEvent(ref Slot slot, long sequence, bool endOfBatch)
        {
            long s = Pong.Next();
            PongRing[s].Value = slot.Value;
            Pong.Publish(s);
        }

        public void OnTimeout(long sequence)
        {
        }

        public void OnShutdown()
        {
        }
    }

    public static Latency Ring(int trips)
    {
        using var pingRing = new RingBuffer<Slot>(1024);
        using var pongRing = new RingBuffer<Slot>(1024);
        Sequencer ping = EventGraph<Slot, AdaptiveWait>.CreateSequencer(1024, false);
        Sequencer pong = EventGraph<Slot, AdaptiveWait>.CreateSequencer(1024, false);
        using var graph = new EventGraph<Slot, AdaptiveWait>(pingRing, ping);
        graph.Add("echo", new Echo { Pong = pong, PongRing = pongRing });
        var received = new Sequence();
        pong.SetGatingSequences([received]);
        SequenceBarrier barrier = pong.NewBarrier();
        graph.Start();

        var samples = new long[trips];
        var wait = new AdaptiveWait();
        for (int i = 0; i < trips + 1000; i++)
        {
            long start = Stopwatch.GetTimestamp();
            long s = ping.Next();
            pingRing[s].Value = i;
            ping.Publish(s);
            long got = barrier.WaitFor(ref wait, s, long.MaxValue);
            received.SetValue(got);
            long elapsed = Stopwatch.GetTimestamp() - start;
            if (i >= 1000)
            {
                samples[i - 1000] = elapsed * 1_000_000_000 / Stopwatch.Frequency;
            }
        }

        graph.Halt(TimeSpan.FromSeconds(10));
        return Latency.From(samples);
    }

    public static Latency Channels(int trips)
    {
        var ping = Channel.CreateBounded<long>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
        var pong = Channel.CreateBounded<long>(new BoundedChannelOptions(1024) { SingleReader = true, SingleWriter = true });
        Task echo = Task.Run(async () =>
        {
            await foreach (long value in ping.Reader.ReadAllAsync())
            {
                await pong.Writer.WriteAsync(value);
            }
        });

        var samples = new long[trips];
        Task.Run(async () =>
        {
            for (int i = 0; i < trips + 1000; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await ping.Writer.WriteAsync(i);
                await pong.Reader.ReadAsync();
                long elapsed = Stopwatch.GetTimestamp() - start;
                if (i >= 1000)
                {
                    samples[i - 1000] = elapsed * 1_000_000_000 / Stopwatch.Frequency;
                }
            }
        }).GetAwaiter().GetResult();
        ping.Writer.Complete();
        echo.GetAwaiter().GetResult();
        return Latency.From(samples);
    }
}
